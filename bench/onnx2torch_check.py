#!/usr/bin/env python3
"""Reproduces the experiment behind "our own ONNX interpreter, not onnx2torch" (docs/decisions.md).

    pip install onnx2torch==1.5.15 && python3 bench/onnx2torch_check.py

Converts trtpipe's annotated example graphs (fp16, bf16) and small Q/DQ graphs (int8 per tensor,
int8 per axis, float8) with onnx2torch and runs them on the CPU, printing what converts and the
cosine to the FP32 ONNX Runtime reference.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "runner-py"))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def annotated(model, precision):
    from trtpipe_runner.precision.annotate import annotate
    from trtpipe_runner.precision.opset import convert_opset
    from trtpipe_runner.precision.policy import parse_policy, resolve

    from trtpipe_runner.errors import UserError

    try:  # at the model's own opset where the policy allows it, else at 22 (bf16 Conv/pooling)
        return annotate(model, resolve(model, parse_policy({"default": precision})))[0]
    except UserError:
        model = convert_opset(model, 22)
        return annotate(model, resolve(model, parse_policy({"default": precision})))[0]


def qdq(kind: str):
    axis = {"axis": 1} if kind == "int8-per-axis" else {}
    scale = np.full(4, 0.1, np.float32) if axis else np.array(0.1, np.float32)
    zp = (helper.make_tensor("z", TensorProto.FLOAT8E4M3FN, [], [0.0]) if kind == "fp8" else
          numpy_helper.from_array(np.zeros(4, np.int8) if axis else np.array(0, np.int8), "z"))
    g = helper.make_graph([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], **axis),
                           helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], **axis)], kind,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
                          [numpy_helper.from_array(scale, "s"), zp])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])


def try_convert(label: str, model, x: np.ndarray, ref: np.ndarray | None) -> None:
    import torch
    from onnx2torch import convert

    try:
        module = convert(model).eval()
        with torch.no_grad():
            y = module(torch.from_numpy(x)).float().numpy()
    except Exception as exc:  # noqa: BLE001 - the point is to report what fails
        print(f"{label:28s} FAILS: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:100]}")
        return
    cos = "" if ref is None else f" cosine to FP32 {float(y.ravel() @ ref.ravel() / np.linalg.norm(y) / np.linalg.norm(ref)):.6f}"
    print(f"{label:28s} converts and runs{cos}")


def main() -> int:
    try:
        import onnx2torch
    except ImportError:
        print("onnx2torch is not installed: pip install onnx2torch==1.5.15", file=sys.stderr)
        return 2
    import onnxruntime as ort

    from trtpipe_runner.model.load import load_model

    print(f"onnx2torch {__import__('importlib.metadata').metadata.version('onnx2torch')}")
    for name in ("digits", "transformer", "overflow"):
        model = load_model(REPO / "examples" / name / "model.onnx")
        x = np.load(REPO / "examples" / name / "eval.npz")["input"][:64]
        ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None,
                                                                                                    {"input": x})[0]
        for precision in ("fp16", "bf16"):
            try_convert(f"{name} {precision}", annotated(model, precision), x, ref)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    for kind in ("int8-per-tensor", "int8-per-axis", "fp8"):
        try_convert(f"Q/DQ {kind}", qdq(kind), x, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
