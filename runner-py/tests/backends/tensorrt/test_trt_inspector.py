"""Engine inspector JSON: both the 10.x and the 11.x form, on the recorded samples."""
from __future__ import annotations

import json

import pytest

from trtpipe_runner.backends.tensorrt.inspector import (
    normalize_dtype,
    onnx_nodes_from_metadata,
    parse_engine_information,
)
from trtpipe_runner.errors import UserError


@pytest.mark.parametrize("text,expected", [
    ("Row major linear FP32", "fp32"),
    ("Row major linear FP16 format", "fp16"),
    ("Channel major FP16 format where channel % 8 == 0", "fp16"),
    ("Thirty-two wide channel vectorized row major Int8 format", "int8"),
    ("Row major linear BF16 format", "bf16"),
    ("Row major linear FP8 format", "fp8"),
    ("Row major linear Int32", "int32"),
    ("Row major linear Int64 format", "int64"),
    ("Row major linear Bool", "bool"),
    ("Row major linear UInt8 format", "uint8"),
    ("Float", "fp32"), ("Half", "fp16"), ("BFloat16", "bf16"), ("Int8", "int8"), ("FP8", "fp8"),
    ("Float8E4M3", "fp8"), ("Int4", "int4"), ("FP4", "fp4"),
    ("", None), (None, None), ("Something else", None),
])
def test_dtype_names_of_both_forms(text, expected):
    assert normalize_dtype(text) == expected


def test_metadata_with_unit_separator_and_function_stack():
    meta = "[ONNX Layer: /conv/Conv]\x1f[ONNX Layer: /act/Gelu | /blk/act (GeluFn)]\x1f[ONNX Layer: /conv/Conv]"
    assert onnx_nodes_from_metadata(meta) == ["/conv/Conv", "/act/Gelu"]


def test_metadata_without_separator():
    assert onnx_nodes_from_metadata("[ONNX Layer: a][ONNX Layer: b]") == ["a", "b"]
    assert onnx_nodes_from_metadata("") == [] and onnx_nodes_from_metadata(None) == []


def test_trt10_sample(trt10_sample):
    info = parse_engine_information(trt10_sample)
    assert info.form == "10.x"
    assert [t.name for t in info.io] == ["input", "probs"] and all(t.mode == "" for t in info.io)
    conv = info.layers[2]
    assert conv.name == "/features/conv1/Conv + /features/relu1/Relu"
    assert conv.layer_type == "CaskConvolution"
    assert conv.metadata_nodes == ["/features/conv1/Conv", "/features/relu1/Relu"]
    assert conv.weights_type == "fp16"
    assert conv.inputs[0].dtype == "fp16" and conv.inputs[0].format.startswith("Channel major FP16")
    assert conv.tactic.startswith("sm90_xmma_fprop")
    assert info.layers[0].inputs[0].dtype == "fp32" and info.layers[0].outputs[0].dtype == "fp16"
    assert info.layers[1].origin == "REFORMAT"
    assert info.layers[-1].outputs[0].dims == [32, 10]


def test_trt11_sample(trt11_sample):
    info = parse_engine_information(trt11_sample)
    assert info.form == "11.x"
    assert [(t.name, t.mode, t.dtype, t.dims) for t in info.io] == [
        ("input", "Input", "fp32", [32, 64]), ("probs", "Output", "fp32", [32, 10])]
    gemm = info.layers[1]
    assert gemm.inputs[0].dtype == "fp16" and gemm.inputs[0].format == "Row major linear"
    assert gemm.metadata_nodes == ["/fc1/Gemm", "/Mul"]
    region = info.layers[2]
    assert region.layer_type == "Myelin" and region.metadata_nodes == [] and region.tactic.startswith("__myl_")


def test_both_forms_give_the_same_types(trt10_sample):
    """The same layer in 11.x form (split keys, `DataType` spelling too) parses to the same types."""
    obj = json.loads(trt10_sample)
    for layer in obj["Layers"]:
        for t in layer["Inputs"] + layer["Outputs"]:
            text = t.pop("Format/Datatype")
            t["Format"], t["DataType"] = text, {"fp32": "Float", "fp16": "Half"}[normalize_dtype(text)]
    obj["I/O Tensors"] = [{"Name": n, "IOMode": m, "DataType": "Float"} for n, m in (("input", "Input"),
                                                                                   ("probs", "Output"))]
    del obj["Bindings"]
    ten, eleven = parse_engine_information(trt10_sample), parse_engine_information(obj)
    assert eleven.form == "11.x"
    assert [[t.dtype for t in lay.inputs + lay.outputs] for lay in ten.layers] == \
           [[t.dtype for t in lay.inputs + lay.outputs] for lay in eleven.layers]


def test_layer_names_only_verbosity():
    info = parse_engine_information({"Layers": ["/conv/Conv + /relu/Relu", "/fc/Gemm"], "Bindings": ["x", "y"]})
    assert info.form == "names-only"
    assert [lay.name for lay in info.layers] == ["/conv/Conv + /relu/Relu", "/fc/Gemm"]
    assert info.layers[0].inputs == []


def test_not_inspector_output():
    with pytest.raises(UserError, match="no `Layers` list"):
        parse_engine_information({"foo": 1})
