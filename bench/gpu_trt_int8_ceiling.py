#!/usr/bin/env python3
"""How fast can TensorRT 10.x run ResNet-50 in int8 here, and how close do trtpipe's graphs come?

    source $HOME/trt/env.sh && python3 bench/gpu_trt_int8_ceiling.py [--batches 1 64]

Issue 23 asks int8 / fp16 <= 0.70 at batch 64. This separates what trtpipe's annotated graphs
leave on the table from what the GPU and TensorRT 10.6 allow, in one process, every engine built
through the raw API with one shared timing cache and timed the same way (CUDA-graph replay,
CUDA events, median of --iterations):
  fp16           the transform stage's fp16 graph, strongly typed (trtpipe's fp16)
  int8-strong    the transform stage's int8 graph with fp32 leftovers, strongly typed (trtpipe's int8)
  int8-weak      the same Q/DQ graph weakly typed with the FP16 and INT8 flags, nothing pinned:
                 TensorRT picks fp16 or int8 for every layer Q/DQ leaves open (TensorRT 10.x only)
  int8-implicit  the fp32 model weakly typed, FP16 and INT8 flags, a dynamic range on every tensor
                 (implicit quantization, deprecated in 10.x and removed in 11: the old ceiling)
Prints one table; asserts nothing. Figures only on a GPU host with TensorRT.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "runner-py"), str(REPO / "bench")]


def build(trt, model: Path, cache, strongly_typed: bool, flags=(), dynamic_range: float | None = None,
          max_batch: int = 64) -> bytes:
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    creation = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(creation)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(model)):
        raise RuntimeError(parser.get_error(0).desc())
    config = builder.create_builder_config()
    config.clear_flag(trt.BuilderFlag.TF32)
    for flag in flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    if dynamic_range is not None:  # implicit quantization: every tensor gets a range
        for i in range(network.num_inputs):
            network.get_input(i).dynamic_range = (-dynamic_range, dynamic_range)
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            for j in range(layer.num_outputs):
                out = layer.get_output(j)
                if out.dtype == trt.float32:
                    out.dynamic_range = (-dynamic_range, dynamic_range)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        t = network.get_input(i)
        rest = tuple(t.shape)[1:]
        profile.set_shape(t.name, (1, *rest), (max_batch, *rest), (max_batch, *rest))
    config.add_optimization_profile(profile)
    config.set_timing_cache(cache, False)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("build failed")
    return bytes(memoryview(plan))


def p50_ms(trt, plan: bytes, batch: int, iterations: int) -> float:
    """Median ms of one inference at `batch`, CUDA-graph replay, CUDA events around each replay."""
    import torch

    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    engine = runtime.deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    for n in names:
        if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT:
            shape = list(engine.get_tensor_shape(n))
            shape[0] = batch
            context.set_input_shape(n, shape)
    buffers = []
    for n in names:
        dtype = torch.from_numpy(np.empty(0, trt.nptype(engine.get_tensor_dtype(n)))).dtype
        t = torch.randn(tuple(context.get_tensor_shape(n)), device="cuda").to(dtype)
        buffers.append(t)
        context.set_tensor_address(n, t.data_ptr())
    stream = torch.cuda.Stream()
    for _ in range(10):
        context.execute_async_v3(stream.cuda_stream)
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        context.execute_async_v3(stream.cuda_stream)
    times = []
    with torch.cuda.stream(stream):
        for _ in range(20):
            graph.replay()
        for _ in range(iterations):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record(stream)
            graph.replay()
            b.record(stream)
            b.synchronize()
            times.append(a.elapsed_time(b))
    del graph, context, engine, runtime, buffers
    return float(np.median(times))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", nargs="*", type=int, default=[1, 64])
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    import tensorrt as trt
    import torch
    from gpu_tensorrt import Bench, annotate, export_models

    torch.set_grad_enabled(False)
    rows = []
    with tempfile.TemporaryDirectory(prefix="trtpipe-int8-ceiling-") as tmp:
        b = Bench(Path(tmp), "cuda", args.iterations, time.perf_counter())
        spec = export_models(Path(tmp) / "models", False, ("resnet50",))["resnet50"]
        model, calib = b.put(spec["dir"] / "model.onnx"), b.put(spec["dir"] / "calib.npz")
        fp16, _ = annotate(b, model, calib, "fp16")
        int8, _ = annotate(b, model, calib, "int8-fp32rest")
        config = trt.Builder(trt.Logger(trt.Logger.ERROR)).create_builder_config()
        cache = config.create_timing_cache(b"")
        variants = {
            "fp16": lambda: build(trt, b.path(fp16), cache, True),
            "int8-strong": lambda: build(trt, b.path(int8), cache, True),
            "int8-weak": lambda: build(trt, b.path(int8), cache, False, ("FP16", "INT8")),
            "int8-implicit": lambda: build(trt, spec["dir"] / "model.onnx", cache, False, ("FP16", "INT8"), 4.0),
        }
        for name, make in variants.items():
            row = {"variant": name}
            try:
                t0 = time.perf_counter()
                plan = make()
                row["build_s"] = round(time.perf_counter() - t0, 1)
                row.update({f"b{bs}_ms": round(p50_ms(trt, plan, bs, args.iterations), 3) for bs in args.batches})
            except Exception as exc:  # noqa: BLE001 - one variant failing must not lose the others
                row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            rows.append(row)
            b.log(json.dumps(row))
    base = next((r for r in rows if r["variant"] == "fp16" and "error" not in r), None)
    print(f"TensorRT {trt.__version__}, ResNet-50, CUDA-graph replay, median of {args.iterations}")
    for r in rows:
        cells = [f"{r['variant']:<14}"] + [f"b{bs} {r.get(f'b{bs}_ms', float('nan')):7.3f} ms" for bs in args.batches]
        if base and "error" not in r:
            cells += [f"/fp16 b{bs} {r[f'b{bs}_ms'] / base[f'b{bs}_ms']:.3f}" for bs in args.batches]
        print("  ".join(cells) + (f"  {r['error']}" if "error" in r else f"  build {r['build_s']} s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
