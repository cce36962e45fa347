"""Attention fused into scaled_dot_product_attention: the exporters' patterns, numerics, fallbacks, explain."""
from __future__ import annotations

import io
import math
import warnings

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from trtpipe_runner.backends.torch.explain import explain_model  # noqa: E402
from trtpipe_runner.backends.torch.program import Program, prepare  # noqa: E402

from .examples_data import annotated, cosine, example  # noqa: E402
from .onnx_graphs import run_ort, run_torch  # noqa: E402

B, H, L, D = 2, 3, 5, 8


class SelfAttention(torch.nn.Module):
    """One attention block written the ways real models write it."""

    def __init__(self, style: str):
        super().__init__()
        torch.manual_seed(0)
        self.style = style
        self.qkv = torch.nn.Linear(H * D, 3 * H * D)

    def forward(self, x, mask):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, H, D).permute(2, 0, 3, 1, 4)
        if self.style == "sdpa":  # timm ViT; torch.onnx scales Q and K^T by sqrt(scale) from Shape
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)
        if self.style == "sdpa_bool_mask":  # transformers' sdpa path: Where(mask, 0, -inf) and the NaN guard
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :] > 0)
        scores = q @ k.transpose(-1, -2)
        if self.style == "div":  # BERT eager (older transformers): Div by sqrt(d), additive mask
            scores = scores / math.sqrt(D) + (1.0 - mask[:, None, None, :]) * -10000.0
        else:  # "mul": transformers eager today: scores * scaling + finfo.min mask
            scores = scores * D ** -0.5 + (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        return torch.softmax(scores, dim=-1) @ v


def export(module) -> onnx.ModelProto:
    x, mask = torch.randn(B, L, H * D), torch.ones(B, L)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x, mask), buf, dynamo=False, opset_version=17, input_names=["x", "mask"],
                          output_names=["y"], dynamic_axes={"x": {0: "b"}, "mask": {0: "b"}, "y": {0: "b"}})
    return onnx.load_from_string(buf.getvalue())


def feeds(model):
    """x and a padding mask, for the inputs the export kept (an unused mask is dropped)."""
    rng = np.random.default_rng(1)
    mask = np.ones((B, L), np.float32)
    mask[0, -2:] = 0  # padding
    values = {"x": rng.standard_normal((B, L, H * D)).astype(np.float32), "mask": mask}
    return {i.name: values[i.name] for i in model.graph.input}


def attention_nodes(model):
    return [n for n in prepare(model, True, "cpu").fused if n.op_type == "trtpipe.Attention"]


@pytest.mark.parametrize("style", ["sdpa", "sdpa_bool_mask", "div", "mul"])
def test_exported_attention_is_fused_and_exact(style):
    model = export(SelfAttention(style))
    fused = attention_nodes(model)
    assert len(fused) == 1 and "Softmax" in {n.split("/")[-1].split("_")[0] for n in fused[0].fused_from}
    assert fused[0].attrs["nan_guard"] == (style == "sdpa_bool_mask")
    f = feeds(model)
    got, = run_torch(model, f)
    unfused, = run_torch(model, f, fuse=False)
    ref, = run_ort(model, f)
    assert cosine(got, unfused) > 0.999999 and np.abs(got - ref).max() < 1e-5


def test_a_fully_masked_row_is_zero_as_the_nan_guard_makes_it():
    model = export(SelfAttention("sdpa_bool_mask"))
    f = feeds(model)
    f["mask"][1, :] = 0  # no key left for any query of the second sample
    got, = run_torch(model, f)
    unfused, = run_torch(model, f, fuse=False)
    assert np.all(got[1] == 0) and np.array_equal(np.isnan(got), np.isnan(unfused))
    np.testing.assert_allclose(got, unfused, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_attention_on_the_cpu(dtype):
    """The fused kernel keeps the scores and softmax in fp32 inside: closer to the fp32 model than the
    unfused graph, which rounds them to fp16/bf16 between nodes."""
    model, x, _, _ = example("transformer")
    low = annotated(model, "fp16" if dtype == torch.float16 else "bf16")
    assert len(attention_nodes(low)) == 2
    ref, = run_ort(model, {"input": x[:64]})
    got, = run_torch(low, {"input": x[:64]})
    unfused, = run_torch(low, {"input": x[:64]}, fuse=False)
    assert cosine(got, unfused) > 0.9999
    assert cosine(got, ref) >= cosine(unfused, ref) - 1e-6


def dynamo_style_model(q_batch: int = B, window: bool = False):
    """The dynamo exporter's pattern: K^T by Reshape([-1, L, D]) -> Transpose -> Reshape([B, H, D, L]),
    Q and K^T each scaled by sqrt(1/sqrt(D)); with `window`, Swin's shifted-window mask added in a
    [B, windows, H, L, L] view of the scores."""
    s = numpy_helper.from_array(np.array(D ** -0.25, np.float32), "s")
    inits = [s, numpy_helper.from_array(np.array([-1, L, D], np.int64), "t3"),
             numpy_helper.from_array(np.array([B, H, D, L], np.int64), "t4")]
    nodes = [helper.make_node("Reshape", ["k", "t3"], ["k3"], name="k_reshape"),
             helper.make_node("Transpose", ["k3"], ["kt3"], name="k_transpose", perm=[0, 2, 1]),
             helper.make_node("Reshape", ["kt3", "t4"], ["kt"], name="kt_reshape"),
             helper.make_node("Mul", ["kt", "s"], ["kts"], name="k_scale"),
             helper.make_node("Mul", ["q", "s"], ["qs"], name="q_scale"),
             helper.make_node("MatMul", ["qs", "kts"], ["scores"], name="qk")]
    last = "scores"
    if window:
        rng = np.random.default_rng(2)
        inits += [numpy_helper.from_array(rng.standard_normal((1, H, L, L)).astype(np.float32), "bias"),
                  numpy_helper.from_array(np.where(rng.random((1, 2, 1, L, L)) > 0.3, 0, -100).astype(np.float32),
                                          "shift"),
                  numpy_helper.from_array(np.array([-1, 2, H, L, L], np.int64), "view"),
                  numpy_helper.from_array(np.array([-1, H, L, L], np.int64), "restore")]
        nodes += [helper.make_node("Add", ["scores", "bias"], ["biased"], name="add_bias"),
                  helper.make_node("Reshape", ["biased", "view"], ["windows"], name="view"),
                  helper.make_node("Add", ["windows", "shift"], ["shifted"], name="add_shift"),
                  helper.make_node("Reshape", ["shifted", "restore"], ["restored"], name="restore")]
        last = "restored"
    nodes += [helper.make_node("Softmax", [last], ["p"], name="softmax", axis=-1),
              helper.make_node("MatMul", ["p", "v"], ["y"], name="pv")]
    ins = [helper.make_tensor_value_info("q", TensorProto.FLOAT, [q_batch, H, L, D]),
           helper.make_tensor_value_info("k", TensorProto.FLOAT, [B, H, L, D]),
           helper.make_tensor_value_info("v", TensorProto.FLOAT, [B, H, L, D])]
    g = helper.make_graph(nodes, "attn", ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 10
    return m


def qkv(q_batch: int = B):
    rng = np.random.default_rng(4)
    return {"q": rng.standard_normal((q_batch, H, L, D)).astype(np.float32),
            "k": rng.standard_normal((B, H, L, D)).astype(np.float32),
            "v": rng.standard_normal((B, H, L, D)).astype(np.float32)}


@pytest.mark.parametrize("window", [False, True], ids=["plain", "shifted-window-mask"])
def test_dynamo_key_layout_and_windowed_masks(window):
    model = dynamo_style_model(window=window)
    (node,) = attention_nodes(model)
    assert node.attrs["k_layout"] == "merged" and node.attrs["windowed"] == window
    assert len(node.fused_from) == (12 if window else 8)
    got, = run_torch(model, qkv())
    np.testing.assert_allclose(got, run_ort(model, qkv())[0], rtol=1e-5, atol=1e-5)


def test_operands_that_do_not_fit_sdpa_run_as_written_and_say_why():
    model = dynamo_style_model(q_batch=1)  # Q broadcast over the batch: not SDPA's contract
    program = Program(model, "cpu")
    tensors = [torch.from_numpy(qkv(1)[n]) for n in program.input_names]
    with torch.inference_mode():
        got = program.run(tensors)[0].numpy()
    np.testing.assert_allclose(got, run_ort(model, qkv(1))[0], rtol=1e-5, atol=1e-5)
    assert "only broadcast" in program.summary()["runtime_fallbacks"]["softmax"]


def test_patterns_that_cannot_fuse_are_noted_on_the_softmax():
    model = dynamo_style_model()
    model.graph.node[-2].attribute[0].i = 2  # Softmax over the query axis
    prepared = prepare(model, True, "cpu")
    assert not prepared.fused and prepared.notes["softmax"].reason == "ATTENTION_NOT_FUSED"
    assert "axis 2" in prepared.notes["softmax"].detail
    shared = dynamo_style_model()
    shared.graph.output.append(helper.make_tensor_value_info("p", TensorProto.FLOAT, None))  # probs read outside
    assert "read by" in prepare(shared, True, "cpu").notes["softmax"].detail
    rows = {r.node: r for r in explain_model(model, True, False, False, "cpu")}
    assert rows["softmax"].reason == "ATTENTION_NOT_FUSED"


def test_explain_names_the_attention_kernel():
    model, _, _, _ = example("transformer")
    rows = {r.node: r for r in explain_model(annotated(model, "fp16"), True, False, True, "cuda")}
    softmax = rows["/blocks/blocks.0/attn/Softmax"]
    assert (softmax.realized, softmax.reason) == ("fp16", "FUSED")
    assert "scaled_dot_product_attention" in softmax.detail and "/blocks/blocks.0/attn/Div" in softmax.detail
    assert rows["/Softmax"].reason == ""  # the classifier's softmax is not attention
