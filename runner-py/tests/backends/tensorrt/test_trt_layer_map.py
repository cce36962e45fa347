"""Engine layer names -> ONNX nodes: every name form real engines use, and why a layer has no node."""
from __future__ import annotations

import pytest

from trtpipe_runner.backends.tensorrt.inspector import LayerInfo, parse_engine_information
from trtpipe_runner.backends.tensorrt.layer_map import map_layers
from trtpipe_runner.backends.tensorrt.layer_names import leaves, myelin_key, parse_layer_name, strip_clone
from trtpipe_runner.backends.tensorrt.loader import build_error


@pytest.mark.parametrize("name,kind,parts", [
    ("/conv/Conv", "plain", ["/conv/Conv"]),
    ("/conv/Conv + /bn/BatchNormalization + /relu/Relu", "fused",
     ["/conv/Conv", "/bn/BatchNormalization", "/relu/Relu"]),
    # Myelin joins fused sub-layers with a bare "+" and appends its own suffix
    ("/ln/Mul+/ln/Add_myl0_55", "fused", ["/ln/Mul", "/ln/Add"]),
    ("/encoder/layers_8/mha/output/dense/MatMul_myl0_60", "plain", ["/encoder/layers_8/mha/output/dense/MatMul"]),
    ("PWN(PWN(Softplus_144, PWN(Tanh_145)), Mul_146)", "fused", ["Softplus_144", "Tanh_145", "Mul_146"]),
    ("Conv_168 || Conv_180", "fused", ["Conv_168", "Conv_180"]),
    ("Conv_0 + Relu_1\x1eMaxPool_2", "fused", ["Conv_0", "Relu_1", "MaxPool_2"]),
    ("MatMul + b3/read:0 + (Unnamed Layer* 21) [Shuffle] + add_2", "fused", ["MatMul", "b3/read:0", "add_2"]),
    ("__myl_AddCastMeanSubMulMeanAddSqrtDivMulCastMulAdd_myl0_61", "myelin-kernel", []),
    ("_gemm_mha_v2_myl0_59", "myelin-kernel", []),
    ("__myl_Mov_myl25_0", "myelin-move", []),
    ("__myl_Move_myl0_0", "myelin-move", []),
    ("exit^bb^signal^1_myl0_7", "myelin-control", []),
    ("cast_hvar^151783i64_myl0_5", "myelin-shape", []),
    ("__mye151787_myl0_4", "myelin-shape", []),
    ("__mye35321_0_myl0_0", "myelin-shape", []),
    ("onnx::Conv_507_clone_1", "plain", ["onnx::Conv_507_clone_1"]),
    ("/Add_4_output_0 copy", "copy", ["/Add_4_output_0"]),
    ("(Unnamed Layer* 52) [Shuffle]", "internal", []),
    ("Reformatting CopyNode for Input Tensor 0 to {ForeignNode[a...b]}", "reformat", []),
    ("reshape_after_Gemm_48", "plain", ["reshape_after_Gemm_48"]),
])
def test_layer_name_forms(name, kind, parts):
    parsed = parse_layer_name(name)
    assert (parsed.kind, list(parsed.parts)) == (kind, parts)


def test_region_ends_are_themselves_fusions():
    parsed = parse_layer_name("{ForeignNode[/encoder/Unsqueeze_3 + /encoder/Unsqueeze_4.../match_model/Squeeze]}")
    assert parsed.kind == "region"
    assert parsed.first == ("/encoder/Unsqueeze_3", "/encoder/Unsqueeze_4")
    assert parsed.last == ("/match_model/Squeeze",)
    unnamed = parse_layer_name("{ForeignNode[(Unnamed Layer* 1490) [Constant] + (Unnamed Layer* 1491) "
                               "[Shuffle].../Transpose_5]}")
    assert unnamed.first == () and unnamed.last == ("/Transpose_5",)
    assert parse_layer_name("{ForeignNode[/only/Node]}").parts == ("/only/Node",)


def test_name_helpers():
    assert leaves("PWN(a, b) + c") == ["a", "b", "c"]
    assert myelin_key("/blk.0/attn/MatMul_myl3_2") == myelin_key("/blk.0/attn/MatMul") == "/blk_0/attn/MatMul"
    assert strip_clone("onnx::Conv_507_clone_12") == "onnx::Conv_507"


NODES = ["/embed/MatMul", "/embed/Add", "/blk.0/ln/LayerNormalization", "/blk.0/attn/MatMul",
         "/blk.0/attn/Softmax", "/blk.0/attn/MatMul_1", "/blk.0/Add", "/head/Gemm"]


def layers(*names_and_meta):
    return [LayerInfo(i, name, metadata_nodes=list(meta)) for i, (name, meta) in enumerate(names_and_meta)]


def test_fused_and_plain_names():
    m = map_layers(layers(("/embed/MatMul + /embed/Add", []), ("/head/Gemm", [])), NODES)
    assert m.by_layer[0].nodes == ["/embed/MatMul", "/embed/Add"] and m.by_layer[0].how == "fused-name"
    assert m.by_layer[1].how == "name" and m.by_node["/head/Gemm"] == [1]


def test_myelin_region_claims_unclaimed_nodes_between_its_ends():
    m = map_layers(layers(("/embed/MatMul + /embed/Add", []),
                          ("{ForeignNode[/blk.0/ln/LayerNormalization.../blk.0/Add]}", []),
                          ("/blk.0/attn/Softmax", [])), NODES)
    region = m.by_layer[1]
    assert region.how == "region" and region.opaque
    # Softmax is named by its own layer, so the region does not take it.
    assert region.nodes == ["/blk.0/ln/LayerNormalization", "/blk.0/attn/MatMul", "/blk.0/attn/MatMul_1",
                            "/blk.0/Add"]
    assert m.by_node["/blk.0/attn/Softmax"] == [2]


def test_region_with_fused_ends_spans_all_of_them():
    m = map_layers(layers(("{ForeignNode[/embed/MatMul + /embed/Add.../blk.0/attn/Softmax + /blk.0/attn/MatMul_1]}",
                           [])), NODES)
    assert m.by_layer[0].nodes == NODES[:6]


def test_metadata_beats_the_name():
    m = map_layers(layers(("{ForeignNode[/blk.0/attn/MatMul.../blk.0/attn/MatMul_1]}",
                           ["/blk.0/attn/MatMul", "/blk.0/attn/Softmax", "/blk.0/attn/MatMul_1"])), NODES)
    assert m.by_layer[0].how == "metadata" and m.by_layer[0].opaque
    assert m.by_layer[0].nodes == ["/blk.0/attn/MatMul", "/blk.0/attn/Softmax", "/blk.0/attn/MatMul_1"]


def test_myelin_sub_layers_and_kernels():
    m = map_layers(layers(("/blk_0/attn/MatMul_myl3_2", []), ("__myl_MulMaxSubExpSum_myl3_3", []),
                          ("/blk_0/attn/MatMul_1+/blk_0/Add_myl3_4", []), ("__myl_Mov_myl3_5", []),
                          ("exit^bb^signal^1_myl3_6", [])), NODES)
    assert [ln.nodes for ln in m.by_layer] == [["/blk.0/attn/MatMul"], [], ["/blk.0/attn/MatMul_1", "/blk.0/Add"],
                                               [], []]
    assert [ln.how for ln in m.by_layer] == ["myelin-name", "myelin-kernel", "myelin-name", "myelin-move",
                                             "myelin-control"]
    assert m.unmapped() == []


def test_reformat_internal_and_unknown_layers():
    m = map_layers(layers(("Reformatting CopyNode for Output Tensor 0 to /head/Gemm", []),
                          ("(Unnamed Layer* 12) [Shuffle]", []), ("something else", [])), NODES)
    assert [ln.how for ln in m.by_layer] == ["reformat", "internal", "unmapped"]
    assert m.by_node == {} and m.unmapped() == [2]


def test_weights_layers_map_to_their_readers(digits_fp16):
    init = next(i.name for i in digits_fp16.graph.initializer)
    readers = [n.name for n in digits_fp16.graph.node if init in n.input]
    m = map_layers(layers((f"{init}_clone_1", []), (init, [])), digits_fp16)
    assert [ln.how for ln in m.by_layer] == ["weights", "weights"]
    assert m.by_layer[0].nodes == readers and readers


def test_build_error_names_the_first_node_of_a_fused_region():
    err = build_error(["Could not find any implementation for node "
                       "{ForeignNode[/enc/Unsqueeze_3 + /enc/Unsqueeze_4.../out/Squeeze]}."])
    assert err.node == "/enc/Unsqueeze_3"
    err = build_error(["Error Code 10: Could not find any implementation for node /ln/Mul+/ln/Add_myl0_5."])
    assert err.node == "/ln/Mul"


def test_trt10_sample_maps_every_user_node(trt10_sample, digits_fp16):
    names = [n.name for n in digits_fp16.graph.node]
    m = map_layers(parse_engine_information(trt10_sample).layers, digits_fp16)
    assert set(m.by_node) == set(names)
    assert m.by_node["/head/flatten/Flatten"] == m.by_node["/head/fc1/Gemm"] == [7]
    assert [ln.how for ln in m.by_layer].count("reformat") == 2 and m.unmapped() == []


def test_trt11_sample_region_without_metadata(trt11_sample, overflow_fp16_norm_fp32):
    m = map_layers(parse_engine_information(trt11_sample).layers, overflow_fp16_norm_fp32)
    region = m.by_layer[2]
    assert region.how == "region" and region.opaque
    assert region.nodes[0] == "trtpipe/cast//Mul_output_0/to_fp32"
    assert region.nodes[-1] == "trtpipe/cast//norm/Add_1_output_0/to_fp16"
    assert {"/norm/Pow", "/norm/Sqrt", "/norm/Add_1"} <= set(region.nodes)
    assert "/Mul" not in region.nodes and "/Relu" not in region.nodes
    assert "/Constant" not in m.by_node  # folded: no layer names it
