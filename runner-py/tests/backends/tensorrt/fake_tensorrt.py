"""FakeTensorRT: a test double of the `tensorrt` module (10.x and 11.x), for machines without it.

TensorRT cannot be installed on CI (no GPU), so the backend's build path
(Builder -> network -> OnnxParser -> config -> profile -> timing cache ->
build_serialized_network -> Runtime -> engine -> inspector) and its session
path (execution context, tensor addresses, execute_async_v3, IProfiler) run
against this double, with FakeCudaApi standing in for CUDA. It has the
surfaces trtpipe calls with the real enum values of each major
(fake_trt_enums.py, from NVIDIA's headers and bindings), and it behaves as
the real bindings do where trtpipe depends on it: creation failures raise
TypeError after logging why, add_optimization_profile returns -1, a failed
build returns None and logs ERRORs, an unreadable timing cache is an ERROR,
host-located tensors must not get device memory (fake_trt_build.py,
fake_trt_runtime.py say how).

What it does not model: kernels, tactics, fusions, Myelin, reformats,
precision choices (weak typing, TF32) or timing: the "engine" runs the ONNX
graph as written with ONNX Runtime on the CPU, its inspector lists one layer
per ONNX node with the graph's own types, and layer times are host clock.
Explain on real engines is tested on real dumps (test_trt_real_dumps.py);
the real library in the `gpu` tests (test_trt_gpu.py).
"""
from __future__ import annotations

import importlib.machinery
import sys
import types

from . import fake_trt_enums
from .fake_trt_build import FakeBuilder, FakeLayer, FakeNetwork, FakeOnnxParser, FakeOptions
from .fake_trt_runtime import FakeCudaApi, FakeGpu, FakeRuntime

__all__ = ["FakeTensorRT", "FakeLayer", "FakeNetwork", "FakeOptions", "FakeCudaApi", "install_fake"]


def FakeTensorRT(version: str = "10.6.0", options: FakeOptions | None = None) -> types.ModuleType:
    """A tensorrt-like module for `version` ("10.x.y" or "11.x.y")."""
    major, minor = (int(p) for p in version.split(".")[:2])
    trt = types.ModuleType("tensorrt", "TensorRT test double (runner-py/tests/backends/tensorrt/fake_tensorrt.py)")
    # a spec, as imported modules have: importlib.util.find_spec("tensorrt") (torch._dynamo asks) works
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    trt.__version__, trt._options, trt._gpu = version, options or FakeOptions(), FakeGpu()
    fake_trt_enums.install(trt, major, minor)
    severity = fake_trt_enums.enum("Severity", fake_trt_enums.SEVERITY)

    class ILogger:
        Severity = severity

        def __init__(self):
            pass

    class Logger(ILogger):
        def __init__(self, min_severity=severity.WARNING):
            self.min_severity = min_severity

        def log(self, sev, msg):
            if int(sev) <= int(self.min_severity):
                print(f"[TRT] {msg}", file=sys.stderr)

    for name, member in severity.__members__.items():
        setattr(Logger, name, member)

    class IProgressMonitor:
        def __init__(self):
            pass

    class IProfiler:
        def __init__(self):
            pass

    trt.ILogger, trt.Logger, trt.IProgressMonitor, trt.IProfiler = ILogger, Logger, IProgressMonitor, IProfiler
    trt.Builder = lambda logger: FakeBuilder(trt, logger)
    trt.Runtime = lambda logger: FakeRuntime(trt, logger)
    trt.OnnxParser = lambda network, logger: FakeOnnxParser(trt, network, logger)
    return trt


def install_fake(monkeypatch, version: str = "10.6.0", **options) -> types.ModuleType:
    """Makes `import tensorrt` return the double and CUDA the host-memory double, for one test."""
    from trtpipe_runner import capabilities
    from trtpipe_runner.backends.tensorrt import cuda_api, runtime

    trt = FakeTensorRT(version, FakeOptions(**options))
    opts = trt._options
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    cuda = FakeCudaApi(trt._gpu, opts.gpu_name, opts.compute_capability)
    monkeypatch.setattr(cuda_api, "get_cuda_api", lambda: cuda)
    monkeypatch.setattr(runtime, "get_cuda_api", lambda: cuda)
    monkeypatch.setattr(capabilities, "probe_gpus", lambda: [])
    return trt
