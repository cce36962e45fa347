"""Pieces of bench/gpu_tensorrt.py that touch TensorRT directly.

raw_build_seconds: the same strongly typed build as trtpipe's build stage (DETAILED verbosity,
TF32 cleared, one profile min 1 / opt = max = max_batch on the batch axis, the same timing
cache), through the plain TensorRT Python API in this process: what the build stage's wall
time is compared with (issue 23 goal: stage wall <= 1.10 x raw API).
install_test_double: the project's TensorRT test double and host-memory CUDA, so that the
whole benchmark flow can be checked on a CPU (`--fake-tensorrt`; its figures mean nothing).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def raw_build(model_path: Path, cache_bytes: bytes, max_batch: int, logger=None) -> tuple[dict, bytes]:
    """Builder -> parse -> config -> build_serialized_network, each phase timed.

    Returns ({builder_s, parse_s, config_s, build_s, total_s}, the serialized plan); `logger` defaults
    to TensorRT's own, printing errors only.
    """
    import tensorrt as trt

    clock = time.perf_counter
    t = [clock()]
    builder = trt.Builder(logger or trt.Logger(trt.Logger.ERROR))
    t.append(clock())
    major = int(trt.__version__.split(".")[0])
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if major == 10 else 0)
    parser = trt.OnnxParser(network, logger or trt.Logger(trt.Logger.ERROR))
    if not parser.parse_from_file(str(model_path)):
        raise RuntimeError(f"raw API: parse failed: {parser.get_error(0).desc()}")
    t.append(clock())
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.clear_flag(trt.BuilderFlag.TF32)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        shape = tuple(network.get_input(i).shape)
        if any(d < 0 for d in shape):
            rest = tuple(shape[1:])
            profile.set_shape(network.get_input(i).name, (1, *rest), (max_batch, *rest), (max_batch, *rest))
    if config.add_optimization_profile(profile) < 0:
        raise RuntimeError("raw API: profile rejected")
    config.set_timing_cache(config.create_timing_cache(cache_bytes), False)
    t.append(clock())
    plan = builder.build_serialized_network(network, config)
    t.append(clock())
    if plan is None:
        raise RuntimeError("raw API: build failed")
    phases = {f"{n}_s": round(b - a, 3) for n, a, b in zip(("builder", "parse", "config", "build"), t, t[1:])}
    return {**phases, "total_s": round(t[-1] - t[0], 3)}, bytes(memoryview(plan))


def raw_build_seconds(model_path: Path, cache_bytes: bytes, max_batch: int) -> dict:
    """raw_build's seconds under the names bench/gpu_tensorrt.py reports."""
    s, _ = raw_build(model_path, cache_bytes, max_batch)
    # A process that builds more than once keeps its Builder, as the runner does (builder_pool.py):
    # raw_kept_builder_s is the raw API's wall without creating one.
    return {"raw_total_s": s["total_s"], "raw_build_s": s["build_s"], "raw_builder_s": s["builder_s"],
            "raw_kept_builder_s": s["total_s"] - s["builder_s"]}


def install_test_double() -> None:
    """`import tensorrt` -> FakeTensorRT 10.6 and CUDA -> FakeCudaApi, for a CPU run of the flow."""
    sys.path.insert(0, str(REPO / "runner-py"))
    from tests.backends.tensorrt.fake_tensorrt import FakeCudaApi, FakeTensorRT
    from trtpipe_runner import capabilities
    from trtpipe_runner.backends.tensorrt import cuda_api, runtime

    trt = FakeTensorRT("10.6.0")
    sys.modules["tensorrt"] = trt
    cuda = FakeCudaApi(trt._gpu)
    cuda_api.get_cuda_api = runtime.get_cuda_api = lambda: cuda
    capabilities.probe_gpus = lambda: []
