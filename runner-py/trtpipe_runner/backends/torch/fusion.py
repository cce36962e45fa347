"""Pattern fusions that turn several ONNX nodes into one kernel, as TensorRT does.

- MatMul(x, W) + Add(b), W a 2-D constant and b a 1-D constant: one GEMM with
  the bias added in its epilogue (nn.Linear's kernel, with W stored as
  nn.Linear stores it: [out, in]).
- The exact GELU exporters write as x * 0.5 * (1 + Erf(x / sqrt(2))): F.gelu.
- Attention (MatMul, scale, mask, Softmax, MatMul): one scaled_dot_product_attention
  kernel (fusion_attention.py).
- Q/DQ around MatMul/Gemm: one int8 or fp8 GEMM on the tensor cores (fusion_qgemm.py);
  first, so that the Linear fusion does not take the fake-quantized weight.

A fused kernel keeps the dtype of every tensor that survives; the
intermediates it removes are computed in fp32 inside the kernel instead of
being rounded to fp16/bf16 between nodes, which is what TensorRT's fused
kernels do too. `fuse: false` in the target's settings runs every node as
written. Nothing is fused across a Cast, so a node the policy kept in fp32
stays a separate fp32 node.
"""
from __future__ import annotations

import math
from typing import Any

from .fusion_attention import fuse_attention
from .fusion_qgemm import fuse_qgemm
from .graph import Graph, Node
from .ops.matmul import LINEAR
from .pattern import Note


def _consumers(nodes: list[Node], outputs: list[str]) -> dict[str, int]:
    count: dict[str, int] = {}
    for node in nodes:
        for t in node.inputs:
            if t:
                count[t] = count.get(t, 0) + 1
    for t in outputs:
        count[t] = count.get(t, 0) + 1000  # a graph output must survive
    return count


def _scalar(consts: dict[str, Any], name: str) -> float | None:
    value = consts.get(name)
    if value is None or value.numel() != 1 or not value.is_floating_point():
        return None
    return float(value.reshape(-1)[0].float().item())


def _close(value: float | None, want: float) -> bool:
    return value is not None and abs(value - want) <= 1e-3 * abs(want)


def fuse(nodes: list[Node], consts: dict[str, Any], graph: Graph, notes: dict[str, Note], device: str = "cuda",
         capability: tuple[int, int] | None = None) -> list[Node]:
    """Returns the node list with fusable patterns replaced by fused nodes; `notes` gets, per
    node name, why a pattern that looked fusable was left as written. `device` and its compute
    `capability` decide which quantized GEMMs have a real kernel."""
    outputs = graph.outputs
    nodes = fuse_qgemm(nodes, graph, consts, notes, device, capability)
    nodes = fuse_attention(nodes, graph, consts, notes)
    nodes = _fuse_linear(nodes, consts, outputs)
    return _fuse_gelu(nodes, consts, outputs)


def _fuse_linear(nodes: list[Node], consts, outputs) -> list[Node]:
    uses = _consumers(nodes, outputs)
    by_input: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for t in node.inputs:
            by_input.setdefault(t, []).append(i)
    replaced: dict[int, Node] = {}
    dropped: set[int] = set()
    for i, node in enumerate(nodes):
        if node.op_type != "MatMul" or i in dropped:
            continue
        weight = consts.get(node.inputs[1])
        out = node.outputs[0]
        if weight is None or weight.dim() != 2 or node.inputs[0] in consts or uses.get(out) != 1:
            continue
        j = by_input.get(out, [None])[0]
        add = nodes[j] if j is not None else None
        if add is None or add.op_type != "Add" or j in dropped:
            continue
        bias_name = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
        bias = consts.get(bias_name)
        if bias is None or bias.dim() != 1 or bias.shape[0] != weight.shape[1] or bias.dtype != weight.dtype:
            continue
        # nn.Linear's layout ([out, in], contiguous), so the GEMM is the one PyTorch itself runs.
        weight_name = f"{node.inputs[1]}__linear"
        if weight_name not in consts:
            consts[weight_name] = weight.t().contiguous()
        replaced[i] = Node(node.name, LINEAR, [node.inputs[0], weight_name, bias_name], [add.outputs[0]], {},
                           fused_from=[node.name, add.name])
        dropped.add(j)
    return [replaced.get(i, n) for i, n in enumerate(nodes) if i not in dropped]


def _fuse_gelu(nodes: list[Node], consts, outputs) -> list[Node]:
    uses = _consumers(nodes, outputs)
    producer = {t: i for i, n in enumerate(nodes) for t in n.outputs}
    consumer: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for t in n.inputs:
            consumer.setdefault(t, i)
    replace: dict[int, Node] = {}
    dropped: set[int] = set()
    for e, erf in enumerate(nodes):
        if erf.op_type != "Erf":
            continue
        match = _match_gelu(nodes, e, consts, uses, producer, consumer)
        if match is None or dropped & set(match[0]):
            continue
        members, x, out = match
        last = max(members)
        replace[last] = Node(nodes[members[0]].name, "Gelu", [x], [out], {"approximate": "none"},
                             fused_from=[nodes[m].name for m in sorted(members)])
        dropped |= set(members) - {last}
    return [replace.get(i, n) for i, n in enumerate(nodes) if i not in dropped]


def _other(node: Node, name: str) -> str:
    return node.inputs[1] if node.inputs[0] == name else node.inputs[0]


def _match_gelu(nodes, e, consts, uses, producer, consumer):
    """Matches Div(x, sqrt2)|Mul(x, 1/sqrt2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5), and the
    variant where 0.5 * x is formed first; returns (member indices, x, output) or None."""
    erf = nodes[e]
    pi = producer.get(erf.inputs[0])
    if pi is None:
        return None
    pre = nodes[pi]
    if pre.op_type == "Div" and _close(_scalar(consts, pre.inputs[1]), math.sqrt(2)):
        x = pre.inputs[0]
    elif pre.op_type == "Mul" and _close(_scalar(consts, _other(pre, pre.inputs[0])), 1 / math.sqrt(2)):
        x = pre.inputs[0] if pre.inputs[0] not in consts else pre.inputs[1]
    else:
        return None
    chain = [pi, e]
    for t in (pre.outputs[0], erf.outputs[0]):
        if uses.get(t) != 1:
            return None
    ai = consumer.get(erf.outputs[0])
    add = nodes[ai] if ai is not None else None
    if add is None or add.op_type != "Add" or not _close(_scalar(consts, _other(add, erf.outputs[0])), 1.0) \
            or uses.get(add.outputs[0]) != 1:
        return None
    chain.append(ai)
    mi = consumer.get(add.outputs[0])
    mul = nodes[mi] if mi is not None else None
    if mul is None or mul.op_type != "Mul":
        return None
    other = _other(mul, add.outputs[0])
    if other == x and uses.get(mul.outputs[0]) == 1:  # x * (1 + erf) then * 0.5
        hi = consumer.get(mul.outputs[0])
        half = nodes[hi] if hi is not None else None
        if half is None or half.op_type != "Mul" or not _close(_scalar(consts, _other(half, mul.outputs[0])), 0.5):
            return None
        return chain + [mi, hi], x, half.outputs[0]
    hp = producer.get(other)  # (0.5 * x) * (1 + erf)
    half = nodes[hp] if hp is not None else None
    if half is not None and half.op_type == "Mul" and uses.get(other) == 1 and x in half.inputs and \
            _close(_scalar(consts, _other(half, x)), 0.5):
        return chain + [hp, mi], x, mul.outputs[0]
    return None
