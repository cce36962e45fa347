"""Calibration thresholds per tensor, computed with ONNX Runtime's calibrators.

ONNX Runtime's calibrators (onnxruntime.quantization.calibrate) augment the
model with the tensors to observe, run it over the calibration data and reduce
what they saw: MinMax (the absolute maximum), Entropy (TensorRT's KL-divergence
threshold search over a histogram) and Percentile (the given percentile of
|x|). All are used symmetrically, as TensorRT's scheme requires (zero point 0).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from ..cancel import CancelToken
from ..errors import UserError

METHODS = ("minmax", "entropy", "percentile")
# The ops whose inputs trtpipe quantizes (TensorRT fuses Q/DQ into these).
QUANTIZABLE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


class _Reader:
    """Adapts an iterator of feed dicts to ONNX Runtime's CalibrationDataReader."""

    def __init__(self, batches: Iterator[dict[str, np.ndarray]], cancel: CancelToken, on_batch=None):
        self._it = iter(batches)
        self._cancel = cancel
        self._on_batch = on_batch
        self._n = 0

    def get_next(self):
        self._cancel.check()
        nxt = next(self._it, None)
        if nxt is not None:
            self._n += 1
            if self._on_batch:
                self._on_batch(self._n)
        return nxt

    def __iter__(self):  # newer ORT versions iterate the reader
        while (item := self.get_next()) is not None:
            yield item


def thresholds(model_path: Path, tensors: list[str], batches: Iterator[dict[str, np.ndarray]], method: str,
               percentile: float, scratch: Path, cancel: CancelToken, on_batch=None) -> dict[str, float]:
    """Symmetric threshold (amax) per tensor from the calibration batches.

    Args:
        model_path: the FP32 model.
        tensors: the FP32 tensors to calibrate (inputs of quantizable nodes).
        batches: calibration feeds.
        method: minmax | entropy | percentile.
        percentile: for method percentile, e.g. 99.99.
        scratch: folder for the augmented model ONNX Runtime writes.
    Returns:
        {tensor: amax}; tensors the calibrator could not observe are absent.
    """
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    if method not in METHODS:
        raise UserError(f"calibration method must be one of {', '.join(METHODS)}, got '{method}'", code="BAD_PARAM")
    ort_method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                  "percentile": CalibrationMethod.Percentile}[method]
    extra: dict = {"symmetric": True}
    if method == "percentile":
        extra.update(percentile=float(percentile), num_bins=2048)
    elif method == "entropy":
        # ONNX Runtime's default is 128 histogram bins for 128 quantized bins,
        # which leaves the KL search a single candidate: the maximum. TensorRT's
        # entropy calibrator uses 2048 bins folded into 128.
        extra.update(num_bins=2048, num_quantized_bins=128)
    calibrator = create_calibrator(
        str(model_path), op_types_to_calibrate=list(QUANTIZABLE_OPS),
        augmented_model_path=str(scratch / "augmented.onnx"), calibrate_method=ort_method,
        extra_options=extra,
    )
    calibrator.set_execution_providers(["CPUExecutionProvider"])
    calibrator.collect_data(_Reader(batches, cancel, on_batch))
    cancel.check()
    ranges = calibrator.compute_data()
    wanted = set(tensors)
    out: dict[str, float] = {}
    for name, data in ranges.data.items() if hasattr(ranges, "data") else ranges.items():
        if name not in wanted:
            continue
        lo, hi = (data.range_value if hasattr(data, "range_value") else data)
        out[name] = float(max(abs(float(np.asarray(lo).max(initial=0))), abs(float(np.asarray(hi).max(initial=0))),
                              abs(float(np.asarray(lo).min(initial=0)))))
    return out


def quantized_inputs(model) -> list[str]:
    """Activation tensors feeding quantizable nodes (initializers excluded)."""
    inits = {i.name for i in model.graph.initializer}
    names: list[str] = []
    for node in model.graph.node:
        if node.op_type not in QUANTIZABLE_OPS:
            continue
        slots = (0, 1) if node.op_type == "MatMul" else (0,)
        for slot in slots:
            if slot < len(node.input) and node.input[slot] and node.input[slot] not in inits:
                if node.input[slot] not in names:
                    names.append(node.input[slot])
    return names
