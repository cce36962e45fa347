"""Explain against real TensorRT 10.6 engine dumps (data/trt10.6/, README there), and against yours.

Every engine layer must map to ONNX nodes or say why it has none, every
float-computing node must be named by a layer unless it only moves data, and
the precisions read must be the ones the engine shows. To check an engine of
your own (docs/tensorrt.md, "Checking explain against your own engine"):

    TRTPIPE_TRT_DUMP=layers.json:model.onnx .venv/bin/python -m pytest \
        runner-py/tests/backends/tensorrt/test_trt_real_dumps.py -k own -v
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import onnx
import pytest

from trtpipe_runner.backends.tensorrt.dump_report import coverage, facts_from, read_bytes
from trtpipe_runner.backends.tensorrt.explain import DATA_MOVEMENT_OPS, explain_engine
from trtpipe_runner.backends.tensorrt.inspector import parse_engine_information

from .helpers import DATA

REAL = DATA / "trt10.6"
CASES = sorted(p.name for p in REAL.iterdir() if p.is_dir())


def load(case: str):
    folder = REAL / case
    model = onnx.load_from_string(read_bytes(folder / "graph.onnx.gz"))
    layers = read_bytes(folder / "layers.json.gz").decode()
    facts = facts_from(json.loads((folder / "settings.json").read_text()),
                       json.loads(read_bytes(folder / "lock.json.gz")))
    return model, layers, facts


def rows(case: str) -> dict:
    model, layers, facts = load(case)
    return {r.node: r for r in explain_engine(model, parse_engine_information(layers), facts).rows}


def check_coverage(report: dict) -> None:
    assert report["layers_unmapped"] == [], "layers that neither map to a node nor say why"
    unexplained = {op: n for op, n in report["float_nodes_unmapped_by_op"].items() if op not in DATA_MOVEMENT_OPS}
    # The only other nodes no layer names: the attention mask's Where (BERT) and Mul of
    # the int8 BERT, which TensorRT fuses without metadata; pinned so that more show up.
    assert sum(unexplained.values()) <= 35, unexplained


@pytest.mark.parametrize("case", CASES)
def test_every_layer_maps_or_says_why(case):
    model, layers, facts = load(case)
    report = coverage(model, layers, facts)
    assert report["inspector_form"] == "10.x"
    check_coverage(report)
    before = json.loads((REAL / case / "before.json").read_text())
    assert report["layers"] == before["layers"]


def test_own_dump():
    spec = os.environ.get("TRTPIPE_TRT_DUMP")
    if not spec:
        pytest.skip("set TRTPIPE_TRT_DUMP=layers.json:model.onnx to check a dump of your own engine")
    layers_path, _, model_path = spec.partition(":")
    model = onnx.load_from_string(read_bytes(Path(model_path)))
    report = coverage(model, read_bytes(Path(layers_path)).decode())
    print(json.dumps(report, indent=1))
    assert report["layers_unmapped"] == [], "layers trtpipe cannot read: please report them"


def test_resnet50_weights_moves_and_identities():
    """Before: 50 layers unmapped (weights "onnx::Conv_507_clone_1", moves "__myl_Mov_myl25_0") and
    37 NOT_IN_ENGINE nodes, all but Flatten Identity nodes of shared weights."""
    model, layers, facts = load("resnet50-fp16")
    report = coverage(model, layers, facts)
    assert report["layers_by_match"]["weights"] == 47 and report["layers_by_match"]["myelin-move"] == 37
    r = rows("resnet50-fp16")
    convs = [n for n in r if n.endswith("/Conv")]
    assert len(convs) == 53 and all((r[n].realized, r[n].reason) == ("fp16", "") for n in convs)
    # Identity nodes of shared weights: folded, unless TensorRT kept a copy layer named after them
    identities = [n for n in r if n.startswith("Identity_")]
    folded = [n for n in identities if "computed from constants only" in r[n].detail]
    assert len(folded) == 37 and all(r[n].realized == "-" for n in folded)
    assert all(r[n].reason == "" for n in set(identities) - set(folded))
    assert (r["/Flatten"].reason, "data-movement op (Flatten)" in r["/Flatten"].detail) == ("NOT_IN_ENGINE", True)


def test_fp32_island_with_fused_casts_is_not_reported_lower():
    """overflow, fp16 with the LayerNorm kept fp32: Myelin fuses both Casts into one kernel.
    Before: the island read fp16, FUSED_INTO_LOWER_LAYER (false). Now: the fp16 side is fp16,
    the island between the fused Casts is unknown, not guessed."""
    r = rows("overflow-fp16-safety")
    for node in ("/Mul", "/norm/ReduceMean", "/norm/Pow", "/norm/Sqrt", "/norm/Div"):
        assert (r[node].realized, r[node].reason) == ("?", "TYPE_HIDDEN_BY_FUSION"), node
        assert "between fused Casts" in r[node].detail
    for node in ("/norm/Mul", "/norm/Add_1", "/Relu", "/fc1/Gemm", "/fc2/Gemm", "/Softmax"):
        assert (r[node].realized, r[node].reason) == ("fp16", ""), node
    assert not any(x.reason in ("FUSED_INTO_LOWER_LAYER", "REALIZED_LOWER") for x in r.values())


def test_transformer_islands_read_from_the_cast_direction():
    r = rows("transformer-fp16-islands")
    assert not any(x.reason in ("FUSED_INTO_LOWER_LAYER", "REALIZED_LOWER") for x in r.values())
    fp32 = [n for n, x in r.items() if x.realized == "fp32"]
    assert fp32 and all("its side of the fused Cast" in r[n].detail for n in fp32)


def test_bert_fp16_matmuls_and_myelin_intermediates():
    """GEMM alpha/beta scalars and Myelin's fp32 LayerNorm statistics between kernels are not the
    nodes' types: every MatMul reads fp16 from its ONNX-named tensors and weights."""
    r = rows("bert-fp16")
    matmuls = [n for n in r if n.endswith(("MatMul", "MatMul_1"))]
    assert len(matmuls) == 96
    assert all((r[n].realized, r[n].reason) == ("fp16", "") for n in matmuls)
    norms = [n for n in r if n.endswith("LayerNormalization")]
    assert len(norms) == 25 and all(r[n].realized == "fp16" for n in norms)


def test_int8_engines_read_int8_where_quantized():
    for case, quantized in (("resnet50-int8", 54), ("digits-int8", 4), ("bert-int8", 96), ("transformer-int8", 14)):
        r = rows(case)
        assert sum(1 for x in r.values() if x.realized == "int8") == quantized, case


@pytest.mark.parametrize("case", ["resnet18-fp16", "resnet18-fp32"])
def test_trex_engines_map_by_name_alone(case):
    """TREx's published TensorRT 8.x engines have no Metadata: names are the only evidence."""
    folder = DATA / "trex-8.x" / case
    model = onnx.load_from_string(read_bytes(folder / "graph.onnx.gz"))
    report = coverage(model, read_bytes(folder / "layers.json.gz").decode())
    assert report["layers_unmapped"] == []
    assert set(report["layers_by_match"]) <= {"fused-name", "name", "reformat"}
    assert report["float_nodes_unmapped_by_op"] == {"Flatten": 1}
    precision = case.split("-")[1]
    rows = explain_engine(model, parse_engine_information(read_bytes(folder / "layers.json.gz").decode()),
                          facts_from(None, None)).rows
    convs = [r for r in rows if r.node.startswith("Conv_")]
    assert len(convs) == 20
    if precision == "fp16":
        assert all(r.realized == "fp16" for r in convs)
    else:  # trtexec leaves TF32 on by default: the A100 picked TF32 kernels for some convolutions
        assert {r.realized for r in convs} == {"fp32", "tf32"}
