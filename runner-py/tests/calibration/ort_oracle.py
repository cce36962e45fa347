"""ONNX Runtime's own calibrators, as trtpipe used them before its vectorized path: the oracle
the tests hold trtpipe's thresholds to (same options: symmetric, 2048 bins, 128 quantized bins)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from trtpipe_runner.calibration.ranges import QUANTIZABLE_OPS


class _Reader:
    def __init__(self, feeds):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)

    def __iter__(self):
        while (item := self.get_next()) is not None:
            yield item


def ort_thresholds(model_path: Path, tensors: list[str], feeds: list[dict], method: str, percentile: float,
                   scratch: Path, only_tensors: bool = False) -> dict[str, float]:
    """Thresholds of ONNX Runtime's calibrator for `tensors`.

    With `only_tensors`, the histogram methods skip ONNX Runtime's graph augmentation (which
    observes the outputs of the quantizable nodes too, each a second of entropy search) and
    feed just `tensors`, observed by an ONNX Runtime session without optimizations, to
    its HistogramCollector: the same reduction, a fraction of the time.
    """
    from onnxruntime.quantization.calibrate import CalibrationMethod, HistogramCollector, create_calibrator

    if only_tensors and method != "minmax":
        import onnx
        import onnxruntime as ort

        from trtpipe_runner.calibration.observe import expose

        probe = expose(onnx.load(str(model_path)), tensors)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        seen: dict[str, list] = {t: [] for t in tensors}
        for feed in feeds:
            got = dict(zip(names, session.run(names, feed)))
            got.update(feed)
            for t in tensors:
                seen[t].append(got[t])
        collector = HistogramCollector(method, True, 2048, 128, percentile, "same")
        collector.collect({t: np.concatenate([a.ravel() for a in v]) for t, v in seen.items()})
        result = collector.compute_collection_result()
        return {t: _amax(result[t][0], result[t][1]) for t in tensors}

    extra: dict = {"symmetric": True}
    if method == "percentile":
        extra.update(percentile=float(percentile), num_bins=2048)
    elif method == "entropy":
        extra.update(num_bins=2048, num_quantized_bins=128)
    calibrator = create_calibrator(
        str(model_path), op_types_to_calibrate=list(QUANTIZABLE_OPS), augmented_model_path=str(scratch / "aug.onnx"),
        calibrate_method={"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                          "percentile": CalibrationMethod.Percentile}[method], extra_options=extra)
    calibrator.set_execution_providers(["CPUExecutionProvider"])
    calibrator.collect_data(_Reader(feeds))
    ranges = calibrator.compute_data()
    return {name: _amax(*data.range_value) for name, data in ranges.data.items() if name in tensors}


def _amax(lo, hi) -> float:
    return float(max(max(float(np.max(lo)), 0.0), max(float(np.max(hi)), 0.0), -min(float(np.min(lo)), 0.0)))
