"""ONNX's own node conformance cases through the torch backend on the CPU (issue 21).

Every case either passes at its tolerance or is refused when built, with an
error that names the node, its op and (for type refusals) the ONNX type; no
case gives a wrong answer or crashes. The run also checks placement: a tensor
made at run time without naming its device (on CUDA, a CPU tensor among device
ones) crashes the case. docs/torch.md's generated table is this run's. About
20 s on 2 cores.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conformance test needs it")

from trtpipe_runner.backends.torch import conformance as conf  # noqa: E402

DOC = Path(__file__).resolve().parents[4] / "docs" / "torch.md"
REGENERATE = "python3 bench/torch_conformance.py --write-docs"


@pytest.fixture(scope="module")
def results():
    return conf.run_all(conf.collect_cases(), "cpu")


def test_no_case_gives_a_wrong_answer_or_crashes(results):
    failing = [f"{r.name} ({r.outcome}): {r.detail}" for r in results if r.outcome in ("wrong", "crash")]
    assert not failing, f"{len(failing)} case(s):\n" + "\n".join(failing)


def test_every_refusal_comes_at_build_time_naming_node_op_and_type(results):
    refused = [r for r in results if r.outcome == "refused"]
    assert refused, "the run refused nothing: the harness is not classifying"
    vague = [f"{r.name}: {r.detail}" for r in refused
             if r.code not in ("UNSUPPORTED_OP", "UNSUPPORTED_TYPE") or not r.node or f"'{r.node}'" not in r.detail
             or r.op not in r.detail
             or (r.code == "UNSUPPORTED_TYPE" and not re.search(r"ONNX type [A-Z][A-Z0-9]+", r.detail))]
    assert not vague, "refusals that do not name the node, its op and the type:\n" + "\n".join(vague)


def test_the_docs_table_is_this_run(results):
    def body(section: str) -> list[str]:
        return [line for line in section.splitlines() if not line.startswith("<!-- generated")]

    current = conf.render_markdown(results, "")
    assert body(conf.read_section(DOC.read_text())) == body(current), \
        f"docs/torch.md's conformance table is out of date: run `{REGENERATE}`"


def test_the_harness_counts_a_wrong_answer_as_wrong():
    """The classification itself: a case whose expected output is altered must come out wrong."""
    import copy

    case = copy.deepcopy(conf.collect_cases("^test_relu$")[0])
    assert conf.run_case(case).outcome == "pass"
    inputs, expected = case.data_sets[0]
    case.data_sets = [(inputs, [expected[0] + 1.0])]
    assert conf.run_case(case).outcome == "wrong"


def test_the_harness_counts_a_tensor_made_off_the_device_as_a_crash(monkeypatch):
    """The placement check itself: Range as it was before the CUDA run found it (torch.arange
    without a device: the CPU, even in a CUDA plan) must crash the Hann window expansion on the CPU."""
    import torch

    from trtpipe_runner.backends.torch.ops import registry

    case = conf.collect_cases("^test_hannwindow_expanded$")[0]
    assert conf.run_case(case).outcome == "pass"

    def range_on_the_default_device(nv):
        return lambda start, limit, delta: torch.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype)

    monkeypatch.setitem(registry.REGISTRY, "Range", registry.OpDef(range_on_the_default_device,
                                                                   frozenset({0, 1, 2})))
    result = conf.run_case(case)
    assert result.outcome == "crash" and "meta" in result.detail, result
