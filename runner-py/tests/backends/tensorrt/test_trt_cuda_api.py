"""The CUDA layer of the TensorRT runtime, on a GPU, without TensorRT.

Runs wherever a CUDA GPU and cuda-python or CUDA PyTorch exist (no TensorRT
needed), once per available implementation:

    .venv/bin/python -m pytest runner-py/tests/backends/tensorrt/test_trt_cuda_api.py -m gpu -v
"""
from __future__ import annotations

import numpy as np
import pytest

from trtpipe_runner.backends.tensorrt.cuda_api import CudaApi, _load

pytestmark = pytest.mark.gpu


@pytest.fixture(params=["cuda-python", "torch"])
def api(request) -> CudaApi:
    try:
        return _load(request.param)
    except ImportError as exc:
        pytest.skip(f"{request.param} is not usable here: {exc}")


def test_device_identity(api):
    name, (major, minor), version = api.device()
    assert name and major >= 3 and minor >= 0 and version


def test_round_trip_through_device_memory(api):
    stream = api.stream()
    data = np.arange(4096, dtype=np.float32).reshape(64, 64)
    buf = api.alloc(data.nbytes)
    try:
        api.to_device(buf, data, stream)
        back = np.frombuffer(api.to_host(buf, data.nbytes, stream), dtype=np.float32).reshape(64, 64)
        assert np.array_equal(back, data)
        half = np.linspace(-1, 1, 100, dtype=np.float16)
        api.to_device(buf, half, stream)
        assert np.array_equal(np.frombuffer(api.to_host(buf, half.nbytes, stream), np.float16), half)
    finally:
        api.free(buf)


def test_events_time_device_work(api):
    stream = api.stream()
    data = np.ones(8 << 20, dtype=np.uint8)
    buf = api.alloc(data.nbytes)
    start, end = api.event(), api.event()
    api.record(start, stream)
    api.to_device(buf, data, stream)
    api.record(end, stream)
    ms = api.elapsed_ms(start, end)
    api.free(buf)
    assert 0 < ms < 10_000
