"""Writes an fp32 MLP (LAYERS x Gemm WIDTH + Relu) and evaluation data for latency
benchmarks: large enough that batch 32 takes milliseconds on a CPU, so timing
noise is small next to the latency. Random weights (latency does not depend on them).

    python3 bench/make_mlp.py OUT_DIR [--width 1024] [--layers 8] [--samples 64]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--samples", type=int, default=64)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "input"
    for i in range(a.layers):
        w = (rng.standard_normal((a.width, a.width)) / np.sqrt(a.width)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(np.zeros(a.width, np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [f"h{i}"], name=f"/mlp/fc{i}/Gemm"))
        nodes.append(helper.make_node("Relu", [f"h{i}"], [f"r{i}"], name=f"/mlp/act{i}/Relu"))
        x = f"r{i}"
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", a.width])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", a.width])], inits)
    # IR 8 (opset 17's): the newest onnx package writes IR 14, which older ONNX Runtimes refuse.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    a.out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(a.out / "model.onnx"))
    np.savez(a.out / "eval.npz", input=rng.standard_normal((a.samples, a.width)).astype(np.float32))


if __name__ == "__main__":
    main()
