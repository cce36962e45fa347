"""STAND-IN for the calibrate stage (not part of trtpipe): symmetric per-tensor int8 Q/DQ.

The precision engine on this branch has no Q/DQ insertion yet, so the GPU
measurement script uses this helper to make int8 graphs of the examples:
every input of every MatMul, Gemm and Conv gets QuantizeLinear ->
DequantizeLinear with scale = max|x| / 127 (x over the calibration set for
activations, the weight itself for weights) and zero point 0. The lead will
switch the bench to the real calibrate/transform stages when they exist.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QUANTIZED_OPS = ("MatMul", "Gemm", "Conv")


def activation_absmax(model: onnx.ModelProto, calib: dict[str, np.ndarray], names: list[str]) -> dict[str, float]:
    """max |x| of each named tensor over the calibration inputs (ONNX Runtime CPU, FP32)."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    present = {o.name for o in probe.graph.output}
    for n in names:
        if n not in present:
            probe.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, calib)))
    outs.update(calib)
    return {n: float(np.abs(outs[n]).max()) for n in names}


def insert_qdq_minmax(model: onnx.ModelProto, calib: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of the FP32 `model` with int8 Q/DQ on the data and weight inputs of
    MatMul/Gemm/Conv (not on biases), scales from min/max."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    targets: list[tuple[int, int, str]] = []
    for ni, node in enumerate(g.node):
        if node.op_type in QUANTIZED_OPS:
            for slot in (0, 1):
                targets.append((ni, slot, node.input[slot]))
    activations = sorted({t for _, _, t in targets if t not in inits})
    ranges = activation_absmax(m, calib, activations)
    for name in {t for _, _, t in targets if t in inits}:
        ranges[name] = float(np.abs(numpy_helper.to_array(inits[name])).max())
    made: dict[str, str] = {}
    new_nodes: dict[int, list] = {}
    for ni, slot, tensor in targets:
        if tensor not in made:
            scale = max(ranges[tensor], 1e-12) / 127.0
            base = f"trtpipe/qdq/{tensor}"
            g.initializer.append(numpy_helper.from_array(np.array(scale, np.float32), f"{base}/scale"))
            g.initializer.append(numpy_helper.from_array(np.array(0, np.int8), f"{base}/zero_point"))
            q = helper.make_node("QuantizeLinear", [tensor, f"{base}/scale", f"{base}/zero_point"], [f"{base}/q"],
                                 name=f"{base}/Q")
            dq = helper.make_node("DequantizeLinear", [f"{base}/q", f"{base}/scale", f"{base}/zero_point"],
                                  [f"{base}/dq"], name=f"{base}/DQ")
            new_nodes.setdefault(ni, []).extend([q, dq])
            made[tensor] = f"{base}/dq"
        g.node[ni].input[slot] = made[tensor]
    ordered = []
    for ni, node in enumerate(g.node):
        ordered.extend(new_nodes.get(ni, []))  # right before the first consumer: inputs already exist there
        ordered.append(node)
    del g.node[:]
    g.node.extend(ordered)
    onnx.checker.check_model(m)
    return m
