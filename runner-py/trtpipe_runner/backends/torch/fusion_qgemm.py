"""Q/DQ around MatMul/Gemm -> one int8 or fp8 GEMM on the tensor cores (ops/qgemm.py).

The pattern the transform stage (and ModelOpt, and TensorRT's explicit
quantization) writes: an activation QuantizeLinear -> DequantizeLinear with a
per-tensor scale, a weight stored quantized behind a DequantizeLinear (per
output channel or per tensor), zero points 0, then MatMul or Gemm and an
optional bias. The fused node reads the quantized activation and weight
directly: int8 x int8 on torch._int_mm (int32 accumulation), e4m3 x e4m3 on
torch._scaled_mm, and applies activation x weight scales (and the bias) to
the result. Constant folding has already turned the weight's DQ into a float
constant; the quantized weight and its scale are read from the folded DQ.

What cannot run on the real kernels here keeps the emulation (quantize,
dequantize, float GEMM) and gets a QDQ_EMULATED note saying why: an
asymmetric zero point, a per-input-channel weight scale, torch._int_mm's
CUDA shape rules (K and N multiples of 8; M > 16 is met by padding rows),
torch._scaled_mm's (K and N multiples of 16, compute capability 8.9+).
"""
from __future__ import annotations

from onnx import TensorProto

from ...contract.vocabulary import PRECISION_INFO, QDQ_EMULATED
from ...precision.types import QUANT_TYPE
from .graph import Graph, Node
from .ops.qgemm import QGEMM
from .pattern import Index, Note, rebuild

KINDS = {t: p for p, t in QUANT_TYPE.items()}  # the Q/DQ type -> int8 | fp8
FLOATS = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16}


class Skip(Exception):
    """Not fused; args[0] is the reason (None: not a quantized GEMM at all)."""


def fuse_qgemm(nodes: list[Node], graph: Graph, consts, notes: dict[str, Note], device: str,
               capability: tuple[int, int] | None) -> list[Node]:
    ix = Index(nodes, consts, graph.outputs)
    folded_dq = {n.outputs[0]: n for n in graph.nodes if n.op_type == "DequantizeLinear" and n.outputs}
    replaced: dict[int, Node] = {}
    dropped: set[int] = set()
    fused_readers: dict[int, list[Node]] = {}  # activation DQ position -> fused GEMMs reading its input
    for i, node in enumerate(nodes):
        if node.op_type not in ("MatMul", "Gemm") or i in dropped:
            continue
        try:
            fused, dq_a, bias_add = _match(ix, i, graph, folded_dq, device, capability)
        except Skip as exc:
            if exc.args[0]:
                notes[node.name] = Note(QDQ_EMULATED, exc.args[0])
            continue
        if bias_add is not None:  # the fused node takes the bias Add's place (it comes later)
            dropped.add(i)
            replaced[bias_add] = fused
        else:
            replaced[i] = fused
        fused_readers.setdefault(dq_a, []).append(fused)
    for dq_a, readers in fused_readers.items():
        if len(readers) == ix.uses(nodes[dq_a].outputs[0]):  # every reader runs on the quantized values now
            dropped.add(dq_a)
            for fused in readers:
                fused.fused_from.insert(0, nodes[dq_a].name)
    return rebuild(nodes, replaced, dropped)


def _is_zero(ix: Index, name: str) -> bool:
    """An absent zero point, or a constant one that is all zeros."""
    if not name:
        return True
    value = ix.consts.get(name)
    return value is not None and (value.numel() == 0 or not bool((value.float() != 0).any()))


def _match(ix: Index, i: int, graph: Graph, folded_dq: dict, device: str, capability):
    node = ix.nodes[i]
    a, w = node.inputs[0], node.inputs[1]
    ai = ix.made_by(a, "DequantizeLinear")
    dqw = folded_dq.get(w)
    if ai is None or dqw is None or w not in ix.consts:
        raise Skip(None)
    dqa = ix.nodes[ai]
    x_q, w_q = dqa.inputs[0], dqw.inputs[0]
    kind_a, kind_w = KINDS.get(graph.types.get(x_q)), KINDS.get(graph.types.get(w_q))
    if kind_a is None or kind_a != kind_w:
        raise Skip(f"activation and weight are quantized to {graph.types.get(x_q)} and {graph.types.get(w_q)} "
                   "(ONNX types); the real kernels take int8 x int8 or float8 e4m3 x e4m3")
    out_type = graph.types.get(node.outputs[0])
    if out_type not in FLOATS:
        raise Skip(None)
    a_scale = ix.consts.get(dqa.inputs[1])
    if a_scale is None or a_scale.numel() != 1:
        raise Skip("the activation scale is not one constant (per-tensor): the GEMM cannot apply it after "
                   "accumulating")
    zp_a = dqa.inputs[2] if len(dqa.inputs) > 2 else ""
    zp_w = dqw.inputs[2] if len(dqw.inputs) > 2 else ""
    if not _is_zero(ix, zp_a) or not _is_zero(ix, zp_w):
        raise Skip("an asymmetric quantization (non-zero zero point): the real kernels are symmetric")
    wq = ix.consts.get(w_q)
    w_scale = ix.consts.get(dqw.inputs[1])
    if wq is None or w_scale is None or wq.dim() != 2:
        raise Skip("the quantized weight is not a constant 2-D matrix")
    trans_b = node.op_type == "Gemm" and bool(node.attrs.get("transB", 0))
    if node.op_type == "Gemm" and (node.attrs.get("transA", 0) or node.attrs.get("alpha", 1.0) != 1.0
                                   or node.attrs.get("beta", 1.0) != 1.0):
        raise Skip("Gemm with transA, alpha or beta")
    k_dim, n_dim = (wq.shape[1], wq.shape[0]) if trans_b else (wq.shape[0], wq.shape[1])
    out_axis = 0 if trans_b else 1
    if w_scale.numel() != 1:
        axis = dqw.attrs.get("axis", 1)
        if w_scale.dim() != 1 or (axis % 2) != out_axis or w_scale.numel() != n_dim:
            raise Skip("the weight scale is per input channel: it cannot be applied after accumulating")
    reason = _kernel_refusal(kind_a, device, capability, k_dim, n_dim)
    if reason:
        raise Skip(reason)
    bias, bias_add = "", None
    if node.op_type == "Gemm" and len(node.inputs) > 2 and node.inputs[2]:
        bias = node.inputs[2]
        value = ix.consts.get(bias)
        if value is None or value.numel() != n_dim:
            raise Skip("the Gemm's C is not a constant bias of N values")
    out = node.outputs[0]
    if not bias:
        j = ix.only_reader(out)
        if j is not None and ix.nodes[j].op_type == "Add":
            add = ix.nodes[j]
            other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
            value = ix.consts.get(other)
            if value is not None and value.dim() == 1 and value.numel() == n_dim and \
                    graph.types.get(other) == out_type:
                bias, bias_add, out = other, j, add.outputs[0]
    # The weight as [N, K], contiguous: its transpose is the column-major operand both kernels want.
    w_name = f"{w_q}__qgemm_nk"
    if w_name not in ix.consts:
        ix.consts[w_name] = (wq if trans_b else wq.t()).contiguous()
    members = [node.name] + ([ix.nodes[bias_add].name] if bias_add is not None else [])
    fused = Node(node.name, QGEMM, [x_q, dqa.inputs[1], w_name, dqw.inputs[1], bias], [out],
                 {"kind": kind_a}, fused_from=[dqw.name] + members)
    return fused, ai, bias_add


def _kernel_refusal(kind: str, device: str, capability, k: int, n: int) -> str:
    """Why the real kernel cannot run this GEMM on this device ("" when it can)."""
    if device.startswith("cuda"):
        if kind == "int8" and (k % 8 or n % 8):
            return f"torch._int_mm on CUDA needs K and N multiples of 8 (K={k}, N={n})"
        if kind == "fp8":
            need = PRECISION_INFO["fp8"].min_compute_capability or (0, 0)
            if capability is None or capability < need:
                have = f"{capability[0]}.{capability[1]}" if capability else "unknown"
                return (f"fp8 GEMMs (torch._scaled_mm) need compute capability {need[0]}.{need[1]} or newer "
                        f"(this GPU: {have})")
            if k % 16 or n % 16:
                return f"torch._scaled_mm needs K and N multiples of 16 (K={k}, N={n})"
    return ""
