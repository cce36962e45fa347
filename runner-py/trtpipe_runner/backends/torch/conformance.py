"""ONNX's own operator conformance cases, run through the torch backend.

`onnx.backend.test.case.node.collect_testcases()` ships, with the onnx
package, one small model per operator case with inputs, expected outputs and
a tolerance. Each case goes through the backend as a user's model does:
build (the checks that refuse what the backend cannot run), load, run (twice:
the generic plan, then the plan specialized to the input shapes), and the
outputs are compared the way ONNX's own backend test runner compares them.

Outcomes:
- pass: every output matches at the case's rtol/atol (and has its dtype);
- refused: `build` raised the backend's UserError (UNSUPPORTED_OP/_TYPE);
- wrong: it ran, and an output differs (value, shape or dtype);
- crash: any other exception, or a refusal that only came at load/run time.

On the CPU, a tensor made on the wrong device would go unnoticed (host and
device are the same there), so CPU runs check placement too: while a case
runs, tensors made without naming a device become meta tensors, and one that
reaches device work or an output fails the case as a crash. On CUDA the same
tensor would be on the CPU and fail with "Expected all tensors to be on the
same device".
"""
from __future__ import annotations

import re
import tempfile
import time
import traceback
import warnings
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...cancel import CancelToken
from ...errors import UserError

OUTCOMES = ("pass", "refused", "wrong", "crash")


@dataclass
class CaseResult:
    name: str
    outcome: str  # one of OUTCOMES
    op: str  # the op the outcome is about: the refused/failing node's op, else the case's first op
    detail: str = ""  # the refusal message, the mismatch, or the exception
    code: str = ""  # the UserError code of a refusal
    node: str = ""  # the node a refusal names
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def collect_cases(pattern: str | None = None) -> list:
    """ONNX's node test cases (model, data sets, rtol/atol), optionally filtered by a regex on the name."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators' own numpy overflow warnings
        cases = collect_testcases()
    if pattern:
        rx = re.compile(pattern)
        cases = [c for c in cases if rx.search(c.name)]
    return sorted(cases, key=lambda c: c.name)


def _node_op(model, node_name: str) -> str:
    for i, node in enumerate(model.graph.node):
        if (node.name or f"{node.op_type}_{i}") == node_name:
            return node.op_type
    return ""


def _first_op(model) -> str:
    return model.graph.node[0].op_type if model.graph.node else ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


FP16_RTOL = 2.0 ** -9  # two float16 ULPs, as ONNX's runner allows bfloat16 two of its own (2 ** -6)


def _compare(expected: list, got: list, rtol: float, atol: float) -> None:
    """ONNX's backend-test comparison (shape, dtype, values at rtol/atol); AssertionError if they differ.

    One addition: float16 outputs get two ULPs of relative tolerance, as ONNX's
    runner gives bfloat16. The expected values come from numpy, which rounds
    every fp16 intermediate (a Softmax's exp, its sum, the quotient), while
    torch keeps fp32 inside an fp16 kernel, as GPUs do; rtol=1e-3 is below
    one fp16 ULP in [0.5, 1), so the more accurate result would count as wrong.
    """
    from onnx.backend.test.runner import Runner

    if len(expected) != len(got):
        raise AssertionError(f"{len(got)} outputs, expected {len(expected)}")
    for want, have in zip(expected, got):
        tol = max(rtol, FP16_RTOL) if getattr(want, "dtype", None) == np.float16 else rtol
        Runner.assert_similar_outputs([want], [have], rtol=tol, atol=atol)


def _array(value) -> np.ndarray:
    """A case's input or expected output as numpy: cases of types numpy lacks (float8, bfloat16,
    4-bit) store TensorProtos, which onnx turns into its ml_dtypes arrays."""
    from onnx import TensorProto, numpy_helper

    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else value


@contextmanager
def unplaced_tensors_on_meta():
    """Within: torch factories called without a device make meta tensors, which hold no data and
    mix with no CPU tensor but a 0-d one, as a CPU tensor mixes with CUDA ones."""
    import torch

    with torch.device("meta"):
        yield


def run_case(case, device: str = "cpu") -> CaseResult:
    """Builds, loads and runs one case on the torch backend; never raises for the case's own faults."""
    from .backend import TorchBackend

    model = case.model
    t0 = time.perf_counter()
    result = CaseResult(case.name, "pass", _first_op(model))
    backend = TorchBackend()
    with tempfile.TemporaryDirectory(prefix="trtpipe-conformance-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(tmp) / "model.onnx"
        path.write_bytes(model.SerializeToString())
        stage = "build"
        try:
            built = backend.build(path, Path(tmp), {"device": device}, CancelToken())
            stage = "load"
            session = backend.load(built.engine, {"device": device})
            stage = "run"
            names = [vi.name for vi in model.graph.input]
            for inputs, expected in case.data_sets:
                feeds = {n: _array(v) for n, v in zip(names, inputs)}
                expected = [_array(v) for v in expected]
                for _ in range(2):  # generic plan, then the one specialized to these shapes
                    with unplaced_tensors_on_meta() if device == "cpu" else nullcontext():
                        outs = session.run(feeds)
                    _compare(expected, [outs[n] for n in session.output_names()], case.rtol, case.atol)
        except UserError as exc:
            result.op = _node_op(model, exc.node) or result.op
            result.code, result.node = exc.code, exc.node
            if stage == "build":
                result.outcome, result.detail = "refused", exc.message
            else:
                result.outcome, result.detail = "crash", f"refused only at {stage} time: {exc.message}"
        except AssertionError as exc:
            result.outcome, result.detail = "wrong", _one_line(exc)
        except Exception as exc:  # noqa: BLE001 - every other exception is what this harness counts
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
            result.outcome, result.detail = "crash", f"{stage}: {_one_line(exc)}{where}"
    result.seconds = time.perf_counter() - t0
    return result


def run_all(cases, device: str = "cpu", progress=None) -> list[CaseResult]:
    results = []
    for i, case in enumerate(cases):
        results.append(run_case(case, device))
        if progress:
            progress(i + 1, len(cases), results[-1])
    return results


def tally(results: list[CaseResult]) -> dict[str, int]:
    counts = Counter(r.outcome for r in results)
    return {**{k: counts.get(k, 0) for k in OUTCOMES}, "total": len(results)}


def _reason(result: CaseResult) -> str:
    """A refusal's message without node and tensor names, so one reason groups across cases."""
    text = result.detail
    if "has no handler for op" in text:
        return "not implemented"
    text = re.sub(r"^the torch backend cannot run node '[^']*' \(\w+\): ", "", text)
    text = re.sub(r"^node '[^']*' \(\w+\): the torch backend ", "", text)
    text = re.sub(r"\b(input|output) '[^']*'", r"an \1", text)
    text = re.sub(r"graph an (input|output)", r"a graph \1", text)
    return re.sub(r"\s+", " ", text).strip(" .;:")


def refusals(results: list[CaseResult]) -> dict[str, dict[str, int]]:
    """op -> {reason: number of cases}, for every refused case. Reasons that differ only in the
    ONNX type they name are one reason naming all those types."""
    table: dict[str, dict[str, list]] = {}
    for r in results:
        if r.outcome != "refused":
            continue
        reason = _reason(r)
        kinds = re.findall(r"ONNX type (\w+)", reason)
        key = re.sub(r"ONNX type \w+", "ONNX type {}", reason).replace("an input", "an input or output") \
            .replace("an output", "an input or output") if kinds else reason
        entry = table.setdefault(r.op or "?", {}).setdefault(key, [0, []])
        entry[0] += 1
        entry[1].extend(k for k in kinds if k not in entry[1])
    out: dict[str, dict[str, int]] = {}
    for op in sorted(table):
        merged = {key.replace("ONNX type {}", "ONNX type " + ", ".join(sorted(kinds))): n
                  for key, (n, kinds) in table[op].items()}
        out[op] = dict(sorted(merged.items(), key=lambda kv: -kv[1]))
    return out


DOC_BEGIN = "<!-- conformance:begin -->"
DOC_END = "<!-- conformance:end -->"


def render_markdown(results: list[CaseResult], versions: str) -> str:
    """The generated section of docs/torch.md: the outcome table and every refused op with its reasons."""
    counts = tally(results)
    lines = [DOC_BEGIN,
             f"<!-- generated by `python3 bench/torch_conformance.py --write-docs` ({versions}); do not edit -->",
             "| result | cases |", "|---|---|"]
    lines += [f"| {k} | {counts[k]} |" for k in (*OUTCOMES, "total")]
    lines += ["", "Refused at build time, by the op the refusal names (cases; why):", "",
              "| op | cases | why |", "|---|---|---|"]
    for op, reasons in refusals(results).items():
        why = "; ".join(f"{reason} ({n})" if len(reasons) > 1 else reason for reason, n in reasons.items())
        lines.append(f"| {op} | {sum(reasons.values())} | {why.replace('|', '/')} |")
    failing = [r for r in results if r.outcome in ("wrong", "crash")]
    if failing:
        lines += ["", "Wrong or crashing:", ""] + [f"- `{r.name}` ({r.outcome}): {r.detail}" for r in failing]
    lines.append(DOC_END)
    return "\n".join(lines) + "\n"


def replace_section(doc: str, section: str) -> str:
    """doc with its generated section replaced (appended at the end when it has none)."""
    if DOC_BEGIN in doc and DOC_END in doc:
        head, rest = doc.split(DOC_BEGIN, 1)
        return head + section + rest.split(DOC_END, 1)[1].lstrip("\n")
    return doc.rstrip("\n") + "\n\n" + section


def read_section(doc: str) -> str:
    if DOC_BEGIN not in doc or DOC_END not in doc:
        return ""
    return DOC_BEGIN + doc.split(DOC_BEGIN, 1)[1].split(DOC_END, 1)[0] + DOC_END + "\n"
