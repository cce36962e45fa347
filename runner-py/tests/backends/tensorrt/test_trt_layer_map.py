"""Engine layer names -> ONNX nodes: plain, fused, Myelin regions and sub-layers, reformats."""
from __future__ import annotations

from trtpipe_runner.backends.tensorrt.inspector import LayerInfo, parse_engine_information
from trtpipe_runner.backends.tensorrt.layer_map import map_layers, parse_layer_name


def test_parse_layer_names():
    assert parse_layer_name("/conv/Conv") == ("plain", ["/conv/Conv"])
    assert parse_layer_name("/conv/Conv + /bn/BatchNormalization + /relu/Relu") == \
        ("fused", ["/conv/Conv", "/bn/BatchNormalization", "/relu/Relu"])
    assert parse_layer_name("{ForeignNode[/model.10/attn/Split_16.../model.10/attn/Add]}") == \
        ("region", ["/model.10/attn/Split_16", "/model.10/attn/Add"])
    assert parse_layer_name("{ForeignNode[/only/Node]}") == ("region", ["/only/Node"])
    assert parse_layer_name("Reformatting CopyNode for Input Tensor 0 to {ForeignNode[a...b]}") == ("reformat", [])


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


def test_metadata_beats_the_name():
    m = map_layers(layers(("{ForeignNode[/blk.0/attn/MatMul.../blk.0/attn/MatMul_1]}",
                           ["/blk.0/attn/MatMul", "/blk.0/attn/Softmax", "/blk.0/attn/MatMul_1"])), NODES)
    assert m.by_layer[0].how == "metadata" and m.by_layer[0].opaque
    assert m.by_layer[0].nodes == ["/blk.0/attn/MatMul", "/blk.0/attn/Softmax", "/blk.0/attn/MatMul_1"]


def test_myelin_sub_layer_names():
    m = map_layers(layers(("/blk_0/attn/MatMul_myl3_2", []), ("__myl_MulMaxSubExpSum_myl3_3", []),
                          ("/blk_0/attn/MatMul_1_myl3_4", [])), NODES)
    assert [ln.nodes for ln in m.by_layer] == [["/blk.0/attn/MatMul"], [], ["/blk.0/attn/MatMul_1"]]
    assert [ln.how for ln in m.by_layer] == ["myelin-name", "unmapped", "myelin-name"]
    assert m.unmapped() == [1]


def test_reformat_and_unknown_layers():
    m = map_layers(layers(("Reformatting CopyNode for Output Tensor 0 to /head/Gemm", []),
                          ("(Unnamed Layer* 12) [Shuffle]", [])), NODES)
    assert [ln.how for ln in m.by_layer] == ["reformat", "unmapped"]
    assert m.by_node == {}


def test_trt10_sample_maps_every_user_node(trt10_sample, digits_fp16):
    names = [n.name for n in digits_fp16.graph.node]
    m = map_layers(parse_engine_information(trt10_sample).layers, names)
    assert set(m.by_node) == set(names)
    assert m.by_node["/head/flatten/Flatten"] == m.by_node["/head/fc1/Gemm"] == [7]
    assert [ln.how for ln in m.by_layer].count("reformat") == 2 and m.unmapped() == []


def test_trt11_sample_region_without_metadata(trt11_sample, overflow_fp16_norm_fp32):
    names = [n.name for n in overflow_fp16_norm_fp32.graph.node]
    m = map_layers(parse_engine_information(trt11_sample).layers, names)
    region = m.by_layer[2]
    assert region.how == "region" and region.opaque
    assert region.nodes[0] == "trtpipe/cast//Mul_output_0/to_fp32"
    assert region.nodes[-1] == "trtpipe/cast//norm/Add_1_output_0/to_fp16"
    assert {"/norm/Pow", "/norm/Sqrt", "/norm/Add_1"} <= set(region.nodes)
    assert "/Mul" not in region.nodes and "/Relu" not in region.nodes
    assert "/Constant" not in m.by_node  # folded: no layer names it
