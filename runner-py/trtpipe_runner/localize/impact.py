"""What a node's own error does to the model's outputs: its impact.

A node's own error (the difference between its low-precision output and the
FP32 node run on the same inputs, shadow.py) is put back into the FP32 graph at
that node alone, and the graph's outputs are compared with the FP32 ones:
1 - cosine of the worst float output, the measure a cosine budget is judged by.
That is what keeping the node in fp32 would win back, as far as errors add,
which on all-MiniLM-L6-v2 in int8 they do closely (the 36 single-node impacts
sum to 0.00290 against 0.00293 for all of them at once). The local measures do
not tell this: there every int8 layer shows about 1.5% of its own output, while
the FFN output projections, which write into the residual stream, hurt the
embedding 100 times more than the query and key projections, whose errors the
softmax damps.

One session serves every node: the FP32 graph with `out = clean + delta` after
each measured tensor, the deltas graph inputs, all zero but the node's own.
It runs on a few samples (the first batch), once per node, where the FP32 side
of the localization runs (a CUDA GPU through the torch backend, else ONNX
Runtime on the CPU).
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper

from ..calibration.observe import Observer
from ..cancel import CancelToken

CLEAN = "trtpipe/clean/"
DELTA = "trtpipe/delta/"


def injected_model(fp32: onnx.ModelProto, tensors: list[str]) -> onnx.ModelProto:
    """`fp32` with `t = Add(t computed, DELTA + t)` for each tensor t in `tensors` (node outputs)."""
    m = onnx.ModelProto()
    m.CopyFrom(fp32)
    g = m.graph
    wanted = set(tensors)
    nodes = []
    for node in g.node:
        nodes.append(node)
        for k, t in enumerate(node.output):
            if t in wanted:
                node.output[k] = CLEAN + t
                nodes.append(helper.make_node("Add", [CLEAN + t, DELTA + t], [t], name=f"trtpipe/inject/{t}"))
                g.input.append(helper.make_tensor_value_info(DELTA + t, onnx.TensorProto.FLOAT, None))
    del g.node[:]
    g.node.extend(nodes)
    return m


def measure_impacts(fp32: onnx.ModelProto, outputs: list[str], feed: dict[str, np.ndarray],
                    deltas: dict[str, dict[str, np.ndarray]], cancel: CancelToken, device: str = "cpu",
                    progress=None) -> dict[str, float]:
    """{node: 1 - cosine of the worst of `outputs` with only that node's own error in the graph}.

    Args:
        fp32: the FP32 model.
        outputs: its float graph outputs.
        feed: the inputs of the samples the deltas were captured on.
        deltas: {node: {tensor: own error on those samples (low minus FP32 recomputation)}}.
        cancel: cancellation between nodes.
        device: where to run: "cpu" (ONNX Runtime) or "cuda[:N]" (the torch backend, as the FP32
            side of the localization runs there).
        progress: optional callable(done, total).
    """
    tensors = sorted({t for d in deltas.values() for t in d})
    if not tensors:
        return {}
    model = injected_model(fp32, tensors)
    runner = Observer(model, outputs, device, cancel)
    shapes = {t: next(d[t] for d in deltas.values() if t in d).shape for t in tensors}
    zeros = {DELTA + t: np.zeros(shapes[t], np.float32) for t in tensors}
    clean = runner.run({**feed, **zeros})
    out: dict[str, float] = {}
    for i, (node, own) in enumerate(deltas.items()):
        cancel.check()
        got = runner.run({**feed, **zeros, **{DELTA + t: v.astype(np.float32, copy=False) for t, v in own.items()}})
        out[node] = max(_one_minus_cosine(_host(got[o]), _host(clean[o])) for o in outputs)
        if progress:
            progress(i + 1, len(deltas))
    return out


def _host(x) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else x.detach().double().cpu().numpy()


def _one_minus_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.inf
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0 if na == nb else 1.0
    d = a - b
    # 1 - cos from the difference, so the small gaps keep their digits (as stats.TensorStats)
    return max(0.0, (float(d @ d) - (na - nb) ** 2) / (2.0 * na * nb))
