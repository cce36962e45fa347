"""bench/trt_cuda_layer: the CUDA layer of the TensorRT runtime, on a GPU without TensorRT.

The TensorRT backend's device memory, streams, CUDA events and graph capture
(runner-py/trtpipe_runner/backends/tensorrt/cuda_api.py) are the parts of its
runtime that a GPU host without TensorRT can check. For each CUDA library that
imports (PyTorch, cuda-python) this script:
- copies 64 MiB of fp32 and fp16 data to the device and back, and compares;
- times the host-to-device copy with CUDA events on a non-default stream;
- captures a chain of small device operations into a CUDA graph, replays it,
  compares the result with a plain launch, and times both (median of 200),
  which is exactly the capture/replay/event path `benchmark` uses around
  `execute_async_v3`.
Self-contained: needs Python 3.10+, numpy and torch or cuda-python; no Node,
no network, no TensorRT.

    PYTHONPATH=runner-py python3 bench/trt_cuda_layer.py [--out bench/out/trt_cuda_layer.json]

Exit code 1 if any check fails.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner-py"))

from trtpipe_runner.backends.tensorrt.cuda_api import _load  # noqa: E402


def roundtrip(api, stream) -> dict:
    out = {}
    for dtype in (np.float32, np.float16):
        data = np.random.default_rng(0).standard_normal((64 << 20) // np.dtype(dtype).itemsize).astype(dtype)
        buf = api.alloc(data.nbytes)
        start, end = api.event(), api.event()
        api.record(start, stream)
        api.to_device(buf, data, stream)
        api.record(end, stream)
        ms = api.elapsed_ms(start, end)
        back = np.frombuffer(api.to_host(buf, data.nbytes, stream), dtype=dtype)
        api.free(buf)
        out[np.dtype(dtype).name] = {"equal": bool(np.array_equal(back, data)), "h2d_ms": round(ms, 3),
                                     "h2d_gib_s": round(data.nbytes / (1 << 30) / (ms / 1000), 2)}
    return out


def graph_chain(api, stream) -> dict:
    """Plain launches vs graph replay of the same small-kernel chain, CUDA-event timed."""
    if api.name == "torch":
        import torch

        x = torch.randn(256, 256, device="cuda")
        y = torch.empty_like(x)

        def enqueue():
            with torch.cuda.stream(stream):
                z = x
                for _ in range(20):
                    z = torch.tanh(z * 1.01 + 0.1)
                y.copy_(z)

        def result():
            stream.synchronize()
            return y.cpu().numpy()
    else:
        rt = api.rt
        n = 1 << 20
        src = api.alloc(n)
        dst = api.alloc(n)
        api.to_device(src, np.arange(n, dtype=np.uint8), stream)
        kind = rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice

        def enqueue():
            for _ in range(20):
                api.check(rt.cudaMemcpyAsync(dst.ptr, src.ptr, n, kind, stream))

        def result():
            return np.frombuffer(api.to_host(dst, n, stream), dtype=np.uint8)

    enqueue()
    api.synchronize(stream)
    plain = result().copy()
    graph = api.capture(stream, enqueue)
    api.replay(graph, stream)
    api.synchronize(stream)
    replayed = result()
    timings = {}
    for label, launch in (("plain", enqueue), ("graph", lambda: api.replay(graph, stream))):
        start, end = api.event(), api.event()
        samples = []
        for _ in range(200):
            api.record(start, stream)
            launch()
            api.record(end, stream)
            samples.append(api.elapsed_ms(start, end))
        timings[f"{label}_p50_ms"] = round(float(np.median(samples)), 4)
    return {"equal": bool(np.array_equal(plain, replayed)), **timings}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="bench/out/trt_cuda_layer.json")
    args = parser.parse_args()
    report, ok = {}, True
    for name in ("torch", "cuda-python"):
        try:
            api = _load(name)
        except ImportError as exc:
            report[name] = {"skipped": str(exc)}
            continue
        stream = api.stream()
        gpu, cc, version = api.device()
        entry = {"gpu": gpu, "compute_capability": f"{cc[0]}.{cc[1]}", "cuda": version,
                 "roundtrip": roundtrip(api, stream), "graph": graph_chain(api, stream)}
        ok &= all(r["equal"] for r in entry["roundtrip"].values()) and entry["graph"]["equal"]
        report[name] = entry
    if all("skipped" in r for r in report.values()):
        ok = False
    report["ok"] = ok
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
