"""trtpipe's calibration against ONNX Runtime's own calibrators (the oracle), on real example models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from trtpipe_runner.calibration.collect import calibrate
from trtpipe_runner.calibration.histogram import entropy_threshold, kl_divergences, percentile_threshold
from trtpipe_runner.calibration.ranges import quantized_inputs
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import UserError

from .ort_oracle import ort_thresholds

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TOLERANCE = 2e-3  # about one bin of a 2048-bin histogram over [-amax, amax]


def _feeds(example: str, samples: int, batch: int = 32) -> tuple[onnx.ModelProto, Path, list[dict]]:
    path = EXAMPLES / example / "model.onnx"
    model = onnx.load(str(path))
    names = {i.name for i in model.graph.input}
    with np.load(EXAMPLES / example / "calib.npz") as npz:
        data = {k: npz[k][:samples] for k in npz.files if k in names}
    n = len(next(iter(data.values())))
    return model, path, [{k: v[i:i + batch] for k, v in data.items()} for i in range(0, n, batch)]


def _ours(model, feeds, method, **kw):
    return calibrate(model, quantized_inputs(model), lambda: iter(feeds), method, 99.99, "cpu", CancelToken(), **kw)


@pytest.mark.parametrize("example,method", [
    ("digits", "minmax"), ("digits", "entropy"), ("digits", "percentile"), ("transformer", "minmax"),
    ("transformer", "percentile"),
    pytest.param("overflow", "entropy", marks=pytest.mark.slow), pytest.param("transformer", "entropy", marks=pytest.mark.slow),
])
def test_thresholds_agree_with_onnxruntime_calibrators(example, method, tmp_path):
    model, path, feeds = _feeds(example, 64)
    ours = _ours(model, feeds, method).amax
    ref = ort_thresholds(path, quantized_inputs(model), feeds, method, 99.99, tmp_path, only_tensors=True)
    assert set(ours) == set(ref)
    for t in ref:
        if method == "entropy" and ours[t] != pytest.approx(ref[t], rel=TOLERANCE):
            assert _ties(model, feeds, t, ours[t], ref[t]), t
        else:
            assert ours[t] == pytest.approx(ref[t], rel=TOLERANCE), t


def _ties(model, feeds, tensor: str, ours: float, theirs: float) -> bool:
    """Whether two entropy thresholds are windows of equal KL divergence (up to float32 sums,
    which is how ONNX Runtime picks among them)."""
    from trtpipe_runner.calibration.observe import Observer

    obs = Observer(model, [tensor], "cpu", CancelToken())
    x = np.concatenate([obs.run(f)[tensor].ravel() for f in feeds])
    amax = float(np.abs(x).max())
    hist, _ = np.histogram(x, 2048, range=(-amax, amax))
    kl = kl_divergences(hist, np.arange(64, 1025), 128)
    width = 2 * amax / 2048
    picked = [int(round(v / width)) - 1 - 64 for v in (ours, theirs)]  # threshold = (i + 1) bins
    return all(0 <= i < kl.size and kl[i] <= kl.min() * (1 + 1e-6) for i in picked)


def _hist(kind: str, rng) -> np.ndarray:
    x = {"normal": rng.standard_normal(20000), "heavy": rng.standard_t(2, 20000),
         "relu": np.maximum(rng.standard_normal(20000), 0), "levels": np.round(rng.uniform(0, 16, 3000)) / 16}[kind]
    return x.astype(np.float32)


@pytest.mark.parametrize("kind", ["heavy", pytest.param("relu", marks=pytest.mark.slow),
                                  pytest.param("levels", marks=pytest.mark.slow)])
def test_entropy_threshold_equals_onnxruntime_search_on_the_same_histogram(kind):
    from onnxruntime.quantization.calibrate import HistogramCollector

    x = _hist(kind, np.random.default_rng(7))
    amax = np.float32(np.abs(x).max())
    hist, edges = np.histogram(x, 2048, range=(-amax, amax))
    lo, hi = HistogramCollector("entropy", True, 2048, 128, 99.99, "same").get_entropy_threshold(
        (hist, edges, x.min(), x.max(), amax), 128)
    want = max(float(hi), -float(lo))
    assert entropy_threshold(hist, float(amax), float(x.min()), float(x.max())) == pytest.approx(want, rel=1e-6)


def test_entropy_ties_take_the_narrowest_window():
    # A normal bulk and a few far outliers: windows that differ only by empty bins tie.
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(20000), rng.uniform(20, 30, 5)]).astype(np.float32)
    amax = float(np.abs(x).max())
    hist, _ = np.histogram(x, 2048, range=(-amax, amax))
    kl = kl_divergences(hist, np.arange(64, 1025), 128)
    tied = np.nonzero(kl <= kl.min() * (1 + 1e-6))[0] + 64
    assert len(tied) > 1 and int(np.argmin(kl)) + 64 != tied[0]
    got = entropy_threshold(hist, amax, float(x.min()), float(x.max()))
    assert got == pytest.approx((tied[0] + 1) * 2 * amax / 2048, rel=1e-5)


def test_percentile_threshold_is_the_first_edge_reaching_the_share():
    hist = np.array([50, 30, 15, 4, 1], np.int64)  # |x| in bins of width 1 over [0, 5]
    assert percentile_threshold(hist, 0.0, 5.0, -5.0, 5.0, 95.0) == pytest.approx(2.0)
    assert percentile_threshold(hist, 0.0, 5.0, -5.0, 1.5, 95.0) == pytest.approx(2.0)  # clipped at -min
    assert percentile_threshold(hist, 0.0, 5.0, -1.0, 1.5, 95.0) == pytest.approx(1.5)


def test_a_second_pass_gives_the_same_thresholds_when_the_data_do_not_fit_in_memory():
    model, _, feeds = _feeds("transformer", 64)
    for method in ("entropy", "percentile"):
        kept = _ours(model, feeds, method)
        rerun = _ours(model, feeds, method, budget=0)
        assert (kept.passes, rerun.passes) == (1, 2)
        assert rerun.amax == kept.amax


def test_bad_method_and_empty_data_are_user_errors():
    model, _, feeds = _feeds("digits", 8)
    with pytest.raises(UserError, match="minmax, entropy, percentile"):
        _ours(model, feeds, "kl")
    with pytest.raises(UserError) as err:
        _ours(model, [], "minmax")
    assert err.value.code == "DATA_EMPTY"


def test_the_torch_engine_observes_the_same_thresholds():
    pytest.importorskip("torch")
    model, _, feeds = _feeds("transformer", 64)
    for method in ("minmax", "entropy"):
        onnxruntime = _ours(model, feeds, method).amax
        torch = _ours(model, feeds, method, engine="torch").amax
        for t in onnxruntime:
            assert torch[t] == pytest.approx(onnxruntime[t], rel=TOLERANCE), t


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_a_model_with_external_data_calibrates_like_the_same_model_inline(engine, tmp_path):
    if engine == "torch":
        pytest.importorskip("torch")
    model, _, feeds = _feeds("transformer", 64)
    path = tmp_path / "model.onnx"
    copy = onnx.ModelProto()
    copy.CopyFrom(model)  # onnx moves the tensors it writes out of the model it is given
    onnx.save_model(copy, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0)
    external = onnx.load(str(path), load_external_data=False)
    tensors = quantized_inputs(model)
    inline = _ours(model, feeds, "entropy", alpha=0.8, engine=engine)
    result = calibrate(external, tensors, lambda: iter(feeds), "entropy", 99.99, "cpu", CancelToken(), 0.8,
                       engine=engine, model_path=path)
    assert result.amax == pytest.approx(inline.amax, rel=1e-6)
    assert result.smoothing.keys() == inline.smoothing.keys() and len(result.smoothing) == 10
