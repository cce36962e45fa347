"""Attention spelled out in ONNX -> one scaled_dot_product_attention kernel.

Exporters write attention as MatMul(Q, K^T) -> scale -> [+ mask] -> Softmax
-> MatMul(., V), with variations this matcher accepts:
- the scale as Div or Mul of the scores by a scalar, or as Mul of Q and of
  K^T each by sqrt(scale) (torch.onnx's decomposition of SDPA, and
  transformers' BERT-class models), with the scalar a constant or computed
  from shapes (TorchScript exporter: Sqrt(1 / Sqrt(Cast(Shape(q)[-1]))));
- K^T as a Transpose of K (absorbed: a permuted view of its input), the
  dynamo exporter's Reshape([N, a, b]) -> Transpose -> Reshape([.., b, a])
  (absorbed: K is its input reshaped to [.., a, b]), or any tensor (K is its
  transposed view);
- up to two additive masks (Swin's relative-position bias, BERT's padding
  mask), the second possibly added in a reshaped view of the scores (Swin's
  shifted windows: Reshape -> Add(mask) -> Reshape back), and torch.onnx's
  NaN guard after the Softmax (IsNaN -> Where, which zeroes fully masked
  rows as SDPA does).
Nothing is matched across a Cast, so a Softmax the precision policy kept in
fp32 leaves the pattern unfused. Patterns that reach the score MatMul but
cannot be fused get a Note saying why (explain shows it on the Softmax).
"""
from __future__ import annotations

from onnx import TensorProto

from .graph import Graph, Node
from .pattern import Index, Note, other_input, rebuild

# inputs: q, k_source, v, mask_a, mask_b, q_scale, k_scale, scores_scale, view_shape, restore_shape
ATTENTION = "trtpipe.Attention"
SDPA_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}


class NoMatch(Exception):
    """The pattern does not apply; `args[0]` says why (None: it did not look like attention at all)."""


def fuse_attention(nodes: list[Node], graph: Graph, consts, notes: dict[str, Note]) -> list[Node]:
    ix = Index(nodes, consts, graph.outputs)
    replaced: dict[int, Node] = {}
    dropped: set[int] = set()
    for s, node in enumerate(nodes):
        if node.op_type != "Softmax":
            continue
        try:
            members, fused = _match(ix, s, graph)
        except NoMatch as exc:
            if exc.args[0]:
                notes[node.name] = Note("ATTENTION_NOT_FUSED", exc.args[0])
            continue
        if dropped & set(members) or any(m in replaced for m in members):
            continue
        last = max(members)
        replaced[last] = fused
        dropped |= set(members) - {last}
    return rebuild(nodes, replaced, dropped)


def _scale_of(ix: Index, node: Node, data: str) -> tuple[str, str] | None:
    """(op, scalar tensor) when `node` multiplies or divides `data` by a scalar known before the
    device runs; None otherwise."""
    if node.op_type not in ("Mul", "Div") or data not in node.inputs:
        return None
    other = other_input(node, data)
    if node.op_type == "Div" and node.inputs[0] != data:
        return None  # s / x is not a scaling of x
    if not ix.static(other):
        return None
    value = ix.consts.get(other)
    if value is not None and value.numel() != 1:
        return None
    return ("mul" if node.op_type == "Mul" else "div"), other


def _leads_to_scores(ix: Index, tensor: str, depth: int = 4) -> bool:
    """Whether `tensor` is (a scaled / masked version of) a MatMul of two computed tensors."""
    i = ix.producer.get(tensor)
    if i is None or depth == 0:
        return False
    node = ix.nodes[i]
    if node.op_type == "MatMul":
        return not any(t in ix.consts for t in node.inputs)
    if node.op_type in ("Add", "Mul", "Div"):
        return any(t not in ix.consts and _leads_to_scores(ix, t, depth - 1) for t in node.inputs)
    if node.op_type == "Reshape":
        return _leads_to_scores(ix, node.inputs[0], depth - 1)
    return False


def _windowed_mask(ix: Index, softmax: Node, members: list[int]):
    """Swin's shifted-window mask: Softmax <- Reshape(restore) <- Add(mask) <- Reshape(view) <- scores.
    Returns (tensor below the view Reshape, mask, view shape, restore shape) or None."""
    r2 = ix.made_by(softmax.inputs[0], "Reshape")
    if r2 is None or ix.uses(softmax.inputs[0]) != 1:
        return None
    add = ix.made_by(ix.nodes[r2].inputs[0], "Add")
    if add is None or ix.uses(ix.nodes[r2].inputs[0]) != 1:
        return None
    a = ix.nodes[add]
    viewed = [x for x in a.inputs if ix.made_by(x, "Reshape") is not None and _leads_to_scores(ix, x)]
    if len(viewed) != 1 or ix.uses(viewed[0]) != 1:
        return None
    r1 = ix.made_by(viewed[0], "Reshape")
    if not all(ix.static(ix.nodes[r].inputs[1]) for r in (r1, r2)):
        return None  # (a 0 in the targets, whose meaning allowzero decides, is refused when the node runs)
    members += [r2, add, r1]
    return ix.nodes[r1].inputs[0], other_input(a, viewed[0]), ix.nodes[r1].inputs[1], ix.nodes[r2].inputs[1]


def _match(ix: Index, s: int, graph: Graph):
    softmax = ix.nodes[s]
    members = [s]
    # ---- scores side: Softmax <- [Add(mask)]* <- [scale] <- MatMul(q', k')
    t = softmax.inputs[0]
    masks: list[str] = []
    score_scale: tuple[str, str] | None = None
    window = _windowed_mask(ix, softmax, members)
    if window is not None:
        t = window[0]
    while True:
        i = ix.producer.get(t)
        if i is None:
            raise NoMatch(None)
        node = ix.nodes[i]
        if node.op_type == "MatMul" and not any(x in ix.consts for x in node.inputs):
            qk = i
            break
        if not _leads_to_scores(ix, t):
            raise NoMatch(None)
        if node.op_type == "Add":
            cont = [x for x in node.inputs if _leads_to_scores(ix, x)]
            if len(cont) != 1:
                raise NoMatch("both operands of the mask Add come from products of computed tensors")
            if score_scale is not None:
                raise NoMatch("the scores are scaled after the mask is added (the mask would be scaled too)")
            masks.append(other_input(node, cont[0]))
            nxt = cont[0]
        else:
            data = next((x for x in node.inputs if _leads_to_scores(ix, x)), None)
            scale = _scale_of(ix, node, data) if data else None
            if scale is None or score_scale is not None:
                raise NoMatch(f"{node.op_type} '{node.name}' between the scores and the Softmax is not a scaling by "
                              "one scalar known before the run")
            score_scale, nxt = scale, data
        if ix.uses(t) != 1:
            raise NoMatch(f"'{t}' (between the scores and the Softmax) is read by other nodes too")
        members.append(i)
        t = nxt
    if ix.uses(ix.nodes[qk].outputs[0]) != 1:
        raise NoMatch("the attention scores are read by other nodes too")
    members.append(qk)
    masks.reverse()  # in the order they are added
    if window is not None:
        if len(masks) > 1:
            raise NoMatch(f"{len(masks)} additive masks before the windowed one (at most 1 is fused)")
        masks = (masks or [""]) + [window[1]]
    if len(masks) > 2:
        raise NoMatch(f"{len(masks)} additive masks (at most 2 are fused)")
    axis = softmax.attrs.get("axis", -1 if graph.opset >= 13 else 1)
    if axis != -1:
        raise NoMatch(f"Softmax over axis {axis}: the fused kernel normalizes over the last axis (written -1)")
    # ---- probabilities side: Softmax -> [IsNaN/Where guard] -> MatMul(., v)
    probs, guard = softmax.outputs[0], False
    readers = ix.consumers.get(probs, [])
    if probs not in ix.outputs and len(readers) == 2:
        kinds = {ix.nodes[r].op_type: r for r in readers}
        isnan, where = kinds.get("IsNaN"), kinds.get("Where")
        if isnan is None or where is None:
            raise NoMatch("the probabilities are read by other nodes too")
        w = ix.nodes[where]
        if w.inputs[0] != ix.nodes[isnan].outputs[0] or w.inputs[2] != probs or ix.scalar(w.inputs[1]) != 0.0 \
                or ix.uses(w.inputs[0]) != 1:
            raise NoMatch("the probabilities are read by other nodes too")
        members += [isnan, where]
        probs, guard = w.outputs[0], True
    pv = ix.only_reader(probs)
    if pv is None or ix.nodes[pv].op_type != "MatMul" or ix.nodes[pv].inputs[0] != probs:
        reader = ix.nodes[pv] if pv is not None else None
        what = f"go to {reader.op_type} '{reader.name}'" if reader is not None else "are read by several nodes"
        raise NoMatch(f"the probabilities {what}, not straight to one MatMul with V"
                      + (" (quantized attention runs as written)" if reader and reader.op_type == "QuantizeLinear"
                         else ""))
    members.append(pv)
    # ---- operands: q' = q [* or / scalar], k' = layout(k) [* or / scalar]
    q, q_scale = _peel_scale(ix, ix.nodes[qk].inputs[0], members)
    k_src, k_scale = _peel_scale(ix, ix.nodes[qk].inputs[1], members)
    k_layout, k_arg, k_src = _k_layout(ix, k_src, members)
    if k_scale is None:
        k_src2, k_scale = _peel_scale(ix, k_src, members)
        if k_layout == "kt" and k_scale is not None:
            k_layout, k_arg, k_src = _k_layout(ix, k_src2, members)
        else:
            k_src = k_src2
    v = ix.nodes[pv].inputs[1]
    kinds = {graph.types.get(x) for x in (softmax.outputs[0], ix.nodes[qk].outputs[0], v, ix.nodes[pv].outputs[0])}
    if len(kinds) != 1 or next(iter(kinds)) not in SDPA_TYPES:
        names = sorted(TensorProto.DataType.Name(k) if k else "unknown" for k in kinds)
        raise NoMatch(f"the tensors are of type(s) {', '.join(names)}; the fused kernel needs one float type")
    scales = [q_scale, k_scale, score_scale]
    attrs = {"q_scale_op": _op(q_scale), "k_scale_op": _op(k_scale), "s_scale_op": _op(score_scale),
             "k_layout": k_layout, "k_arg": k_arg, "nan_guard": guard, "windowed": window is not None}
    inputs = [q, k_src, v] + (masks + ["", ""])[:2] + [sc[1] if sc else "" for sc in scales] + \
        (list(window[2:]) if window else ["", ""])
    order = sorted(members)
    fused = Node(softmax.name, ATTENTION, inputs, [ix.nodes[pv].outputs[0]], attrs,
                 fused_from=[ix.nodes[m].name for m in order])
    return order, fused


def _op(scale) -> str:
    return scale[0] if scale else ""


def _peel_scale(ix: Index, tensor: str, members: list[int]):
    """(data tensor, scale) when `tensor` is a scalar Mul/Div of another tensor read only here."""
    i = ix.producer.get(tensor)
    if i is None or ix.uses(tensor) != 1:
        return tensor, None
    node = ix.nodes[i]
    for data in node.inputs:
        if data in ix.consts:
            continue
        scale = _scale_of(ix, node, data)
        if scale is not None:
            members.append(i)
            return data, scale
    return tensor, None


def _k_layout(ix: Index, kt: str, members: list[int]):
    """How K is obtained from the tensor the fused node reads: ("perm", p, x) for an absorbed
    Transpose, ("merged", shape, x) for the dynamo exporter's Reshape/Transpose/Reshape, or
    ("kt", None, kt) to transpose K^T itself."""
    i = ix.made_by(kt, "Transpose", "Reshape")
    if i is None or ix.uses(kt) != 1:
        return "kt", None, kt
    node = ix.nodes[i]
    if node.op_type == "Transpose":
        perm = node.attrs.get("perm")
        if not perm or len(perm) < 2:
            return "kt", None, kt
        members.append(i)
        return "perm", list(perm[:-2]) + [perm[-1], perm[-2]], node.inputs[0]
    # Reshape(Transpose_{0,2,1}(Reshape(x, [n, a, b])), [..., b, a]) == transpose(x.reshape([..., a, b]))
    outer = ix.consts.get(node.inputs[1])
    ti = ix.made_by(node.inputs[0], "Transpose")
    if outer is None or ti is None or ix.uses(node.inputs[0]) != 1:
        return "kt", None, kt
    tr = ix.nodes[ti]
    ri = ix.made_by(tr.inputs[0], "Reshape")
    if tr.attrs.get("perm") != [0, 2, 1] or ri is None or ix.uses(tr.inputs[0]) != 1:
        return "kt", None, kt
    inner = ix.consts.get(ix.nodes[ri].inputs[1])
    outer = [int(v) for v in outer.reshape(-1).tolist()]
    if inner is None or inner.numel() != 3 or len(outer) < 3 or 0 in outer:
        return "kt", None, kt
    a, b = (int(v) for v in inner.reshape(-1).tolist()[1:])
    if a <= 0 or b <= 0 or outer[-2:] != [b, a]:
        return "kt", None, kt
    members += [i, ti, ri]
    return "merged", outer[:-2] + [a, b], ix.nodes[ri].inputs[0]
