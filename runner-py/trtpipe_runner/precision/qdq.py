"""Explicit quantization: Q/DQ pairs the way TensorRT expects them.

For every node resolved to int8 or fp8 (Conv, ConvTranspose, Gemm, MatMul):
- each activation input gets QuantizeLinear -> DequantizeLinear with a
  per-tensor symmetric scale (amax / 127 for INT8, amax / 448 for FP8 E4M3)
  and zero point 0, shared by every quantized consumer of that tensor;
- each weight initializer is quantized offline per output channel (Conv axis
  0, ConvTranspose axis 1, Gemm/MatMul along the output features: the last
  axis of a right-hand weight [.., K, N], the second-last of a left-hand one
  [.., M, K]; never the reduced K axis, which no integer GEMM can rescale)
  into an int8/float8 initializer read through a DequantizeLinear with its axis;
- biases stay in high precision; the node's output is not quantized (TensorRT fuses
  the DQ into the layer and picks INT8/FP8 kernels from the Q/DQ types);
- the scales have the float type the quantized node computes in (fp32, or
  `precision.unquantized` from opset 19: apply.quantized_float), so a
  DequantizeLinear writes what its reader reads, with no Cast between;
- the residual input of an Add that follows a quantized convolution gets a Q/DQ
  too (calibration.ranges.residual_slot), in the Add's own type, so TensorRT
  fuses the Add into the convolution instead of running it on its own;
- with SmoothQuant factors s for an activation X (calibration/smoothing.py),
  a quantized MatMul/Gemm reading X reads Mul(X, 1/s) instead (one Mul per X,
  shared, quantized with the threshold calibrated for X / s) and its weight
  rows are multiplied by s before quantization; unquantized readers keep X.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..calibration.ranges import FOLDED_INTO_PRODUCER, FUSING_PRODUCERS, residual_slot
from ..errors import UserError
from .graph_edit import insert_after_producers
from .opset import FLOAT_SCALE_OPSET
from .types import ELEM_TYPE, QMAX
from .types import MIN_QDQ_OPSET as MIN_OPSET
from .types import QUANT_TYPE as ZP_TYPE


def weight_axis(node, weight: np.ndarray, slot: int = 1) -> int:
    """The output-channel axis of a node's weight in input `slot`."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1
    attrs = {a.name: a.i for a in node.attribute}
    if node.op_type == "Gemm":
        if slot == 0:  # A [M, K] (or [K, M] transposed)
            return 1 if attrs.get("transA", 0) else 0
        return 0 if attrs.get("transB", 0) else 1
    return weight.ndim - 1 if slot == 1 else max(weight.ndim - 2, 0)  # MatMul: B [.., K, N] per N; A [.., M, K] per M


def insert_qdq(model: onnx.ModelProto, decisions: list, amax: dict[str, float], per_channel: bool = True,
               opset: int = 17, smoothing: dict[str, list[float]] | None = None,
               quantized_as: str = "fp32") -> dict[str, int]:
    """Adds Q/DQ nodes in place for int8/fp8 decisions; returns counts.

    Args:
        amax: threshold per activation tensor (the calibrate stage's `tensors`).
        smoothing: SmoothQuant factors per activation tensor (the calibrate stage's
            `smoothing.factors`); amax of such a tensor is that of X / s.
        quantized_as: the float type the quantized nodes compute in (annotate's `quantized_as`).
    Raises UserError naming the node when a needed threshold is missing, and
    when the opset is too old for the requested quantized type.
    """
    g = model.graph
    by_name = {d.node: d for d in decisions if d.resolved in QMAX}
    if not by_name:
        return {"qdq_activations": 0, "qdq_weights": 0}
    for kind in {d.resolved for d in by_name.values()}:
        if opset < MIN_OPSET[kind]:
            node = next(d.node for d in by_name.values() if d.resolved == kind)
            raise UserError(f"{kind} Q/DQ needs opset >= {MIN_OPSET[kind]} but the model is opset {opset} "
                            f"(first {kind} node: '{node}'); set precision.opset: {MIN_OPSET[kind]}",
                            code="OPSET_TOO_OLD", node=node)
    inits = {i.name: i for i in g.initializer}
    new_inits: list[onnx.TensorProto] = []
    act_qdq: dict[tuple[str, str], str] = {}  # (tensor, kind) -> dequantized tensor name
    placed: dict[str, list] = {}  # tensor -> Q/DQ nodes to place after its producer
    counts = {"qdq_activations": 0, "qdq_weights": 0, "qdq_residuals": 0, **({"smoothed": 0} if smoothing else {})}
    compute = ELEM_TYPE[quantized_as]
    smoothing = smoothing or {}
    smoothed: dict[str, str] = {}  # X -> Mul(X, 1/s) output
    quantized_weights: set[str] = set()  # float initializers a quantized copy now stands in for
    # An int8 node reading a tensor that an fp16/bf16 node produced reads annotate's Cast of it
    # back to fp32; thresholds and smoothing factors are those of the tensor the Cast reads.
    cast_of = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Cast" and n.name.startswith("trtpipe/cast/")}

    def scalar(name: str, value: float, dtype: int = TensorProto.FLOAT) -> str:
        new_inits.append(helper.make_tensor(name, dtype, [], [value]))
        return name

    def activation_qdq(read: str, tensor: str, kind: str, reader: str, dtype: int) -> str:
        """The dequantized `tensor` (read as `read`), one Q/DQ pair per (tensor, kind), shared."""
        key = (tensor, kind)
        if key not in act_qdq:
            source = cast_of.get(read, read)  # thresholds are keyed by the FP32 model's tensor
            if source not in amax:
                raise UserError(f"no calibration threshold for '{source}', input of {kind} node '{reader}'",
                                code="CALIBRATION_MISSING", node=reader)
            scale = representable_scale(max(amax[source], 1e-12) / QMAX[kind], dtype)
            base = f"trtpipe/qdq/{tensor}/{kind}"
            s = scalar(f"{base}/scale", scale, dtype)
            z = scalar(f"{base}/zero_point", 0.0 if kind == "fp8" else 0, ZP_TYPE[kind])
            q, dq = f"{tensor}__q{kind}", f"{tensor}__dq{kind}"
            placed.setdefault(read, []).extend([  # after the smoothing Mul, if any
                helper.make_node("QuantizeLinear", [tensor, s, z], [q], name=f"{base}/quantize"),
                helper.make_node("DequantizeLinear", [q, s, z], [dq], name=f"{base}/dequantize"),
            ])
            act_qdq[key] = dq
            counts["qdq_activations"] += 1
        return act_qdq[key]

    for node in g.node:
        d = by_name.get(node.name)
        if d is None:
            continue
        kind = d.resolved
        slots = (0, 1) if node.op_type in ("MatMul", "Conv", "ConvTranspose", "Gemm") else ()
        factors = smoothing.get(cast_of.get(node.input[0], node.input[0])) if node.op_type in ("MatMul", "Gemm") else None
        for slot in slots:
            if slot >= len(node.input) or not node.input[slot]:
                continue
            tensor = node.input[slot]
            if tensor in inits:
                quantized_weights.add(tensor)
                row_scale = factors if slot == 1 else None
                node.input[slot] = _quantize_weight(node, inits[tensor], kind, per_channel, new_inits, placed, slot,
                                                    row_scale, compute)
                counts["qdq_weights"] += 1
                continue
            if slot == 0 and factors is not None:
                if tensor not in smoothed:
                    smoothed[tensor] = f"{tensor}__smoothed"
                    inv = numpy_helper.from_array((1.0 / np.asarray(factors, np.float64)).astype(np.float32),
                                                  f"trtpipe/smooth/{tensor}/inverse_factors")
                    new_inits.append(inv)
                    placed.setdefault(tensor, []).append(helper.make_node(
                        "Mul", [tensor, inv.name], [smoothed[tensor]], name=f"trtpipe/smooth/{tensor}/mul"))
                    counts["smoothed"] += 1
                tensor = smoothed[tensor]
            # the tensor the node reads (the Q/DQ go after it, and after its smoothing Mul)
            node.input[slot] = activation_qdq(node.input[slot], tensor, kind, node.name, compute)
    # Residual Adds after quantized convolutions: their skip input quantized, in the Add's type.
    decided = {d.node: d for d in decisions}
    quantized_convs = {o for n in g.node if n.name in by_name and n.op_type in FUSING_PRODUCERS for o in n.output}
    quantized_convs |= {o for n in g.node if n.op_type in FOLDED_INTO_PRODUCER and n.input[0] in quantized_convs
                        for o in n.output[:1]}
    for node in list(g.node):
        d = decided.get(node.name)
        if d is None or d.requested not in QMAX or d.resolved in QMAX:
            continue
        slot = residual_slot(node, lambda t: cast_of.get(t, t) in quantized_convs)
        dtype = ELEM_TYPE.get(d.resolved)
        if slot is None or dtype is None or (dtype != TensorProto.FLOAT and opset < FLOAT_SCALE_OPSET):
            continue
        kind = d.requested
        node.input[slot] = activation_qdq(node.input[slot], node.input[slot], kind, node.name, dtype)
        counts["qdq_residuals"] += 1
    g.initializer.extend(new_inits)
    insert_after_producers(g, placed, "Q/DQ")
    _drop_unread(g, replaced=quantized_weights)
    return counts


def _drop_unread(g, replaced: set[str]) -> None:
    """Removes the float weights their quantized copies replaced, when nothing reads them any more:
    kept, they made an int8 model as large as the fp32 one plus its int8 weights, for TensorRT's
    parser (and every store and transfer) to read for nothing."""
    read = {name for node in g.node for name in _inputs(node)} | {i.name for i in g.input} | {o.name for o in g.output}
    keep = [i for i in g.initializer if i.name in read or i.name not in replaced]
    if len(keep) < len(g.initializer):
        del g.initializer[:]
        g.initializer.extend(keep)


def _inputs(node):
    """A node's inputs and those of its subgraphs (which may read outer initializers)."""
    yield from node.input
    for attr in node.attribute:
        for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
            for inner in sub.node:
                yield from _inputs(inner)


def representable_scale(scale: float, dtype: int) -> float:
    """`scale` raised to the smallest normal number of a 16-bit scale type (fp16 scales of
    near-constant tensors would otherwise flush to zero and divide by it)."""
    if dtype == TensorProto.FLOAT16:
        return max(scale, float(np.finfo(np.float16).tiny))
    return scale


def _scale_array(scale: np.ndarray, dtype: int) -> np.ndarray:
    """Per-channel scales in the node's float type (rounded, so weights are quantized with them)."""
    if dtype == TensorProto.FLOAT16:
        return np.maximum(scale, np.finfo(np.float16).tiny).astype(np.float16)
    if dtype == TensorProto.BFLOAT16:
        import ml_dtypes

        return scale.astype(ml_dtypes.bfloat16)
    return scale.astype(np.float32)


def _quantize_weight(node, init, kind: str, per_channel: bool, new_inits: list, placed: dict, slot: int = 1,
                     row_scale: list[float] | None = None, dtype: int = TensorProto.FLOAT) -> str:
    w = numpy_helper.to_array(init).astype(np.float32)
    base = f"trtpipe/qdq/{init.name}/{kind}/{node.name}"
    if row_scale is not None:  # SmoothQuant: W's input-channel rows take the factors X was divided by
        trans_b = node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute)
        s = np.asarray(row_scale, np.float32)
        w = w * (s[None, :] if trans_b else s[:, None])
        base = f"trtpipe/qdq/{init.name}/{kind}/smoothed/{node.name}"
    qmax = QMAX[kind]
    if per_channel and w.ndim >= 2:
        axis = weight_axis(node, w, slot)
        reduce_axes = tuple(i for i in range(w.ndim) if i != axis)
        amax = np.abs(w).max(axis=reduce_axes)
        scale = _scale_array(np.maximum(amax, 1e-12) / qmax, dtype)
        shape = [1] * w.ndim
        shape[axis] = -1
        scaled = w / scale.astype(np.float32).reshape(shape)
        axis_attr = {"axis": axis}
    else:
        scale = _scale_array(np.array(max(float(np.abs(w).max()), 1e-12) / qmax, np.float32), dtype)
        scaled = w / scale.astype(np.float32)
        axis_attr = {}
    if kind == "int8":
        q = np.clip(np.rint(scaled), -qmax, qmax).astype(np.int8)
        q_init = numpy_helper.from_array(q, f"{base}/weight")
        zp = np.zeros(scale.shape, np.int8)
        zp_init = numpy_helper.from_array(zp, f"{base}/zero_point")
    else:
        import ml_dtypes

        q = np.clip(scaled, -qmax, qmax).astype(ml_dtypes.float8_e4m3fn)
        q_init = numpy_helper.from_array(q, f"{base}/weight")
        zp_init = numpy_helper.from_array(np.zeros(scale.shape, ml_dtypes.float8_e4m3fn), f"{base}/zero_point")
    s_init = numpy_helper.from_array(scale, f"{base}/scale")
    new_inits.extend([q_init, s_init, zp_init])
    out = f"{base}/dequantized"
    placed.setdefault("", []).append(helper.make_node(
        "DequantizeLinear", [q_init.name, s_init.name, zp_init.name], [out], name=f"{base}/dequantize", **axis_attr))
    return out
