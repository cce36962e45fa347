#!/usr/bin/env python3
"""Where the TensorRT build stage's wall goes beyond the raw API (issue 23 goal: stage <= 1.10 x raw).

    source $HOME/trt/env.sh && python3 bench/gpu_trt_build_phases.py [--repeats 2]

On torchvision's ResNet-50 (random weights) annotated fp16 by the transform stage: one cold build
through the build stage (it fills the timing cache), then, alternating, `--repeats` warm builds
through the stage (its phase clock) and through the raw TensorRT API in this process, the raw one
with each phase timed and once more with a Python ILogger that counts what TensorRT logs per
severity (every message of a Python logger crosses into Python under the GIL), and the engine
inspector's cost (with and without an execution context). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "runner-py"), str(REPO / "bench")]


def inspector_cost(trt, plan) -> dict:
    """Deserialize, then the inspector's JSON with a USER_MANAGED context and without one."""
    clock = time.perf_counter
    t0 = clock()
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    engine = runtime.deserialize_cuda_engine(plan)
    t1 = clock()
    context = engine.create_execution_context(trt.ExecutionContextAllocationStrategy.USER_MANAGED)
    t2 = clock()
    inspector = engine.create_engine_inspector()
    inspector.execution_context = context
    with_context = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    t3 = clock()
    bare = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    t4 = clock()
    return {"deserialize_s": round(t1 - t0, 3), "context_s": round(t2 - t1, 3), "json_with_context_s": round(t3 - t2, 3),
            "json_bare_s": round(t4 - t3, 3), "json_kb": len(with_context) // 1024, "bare_kb": len(bare) // 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="a 64x64 input (a CPU check of the script)")
    ap.add_argument("--fake-tensorrt", action="store_true", help="the project's TensorRT test double (CPU check)")
    args = ap.parse_args()
    if args.fake_tensorrt:
        from gpu_tensorrt_raw import install_test_double

        install_test_double()
    import tensorrt as trt
    import torch
    from gpu_tensorrt import Bench, annotate, export_models, trt_build
    from gpu_tensorrt_raw import raw_build

    torch.set_grad_enabled(False)

    class Counting(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.counts = collections.Counter()

        def log(self, severity, msg):
            self.counts[str(severity).split(".")[-1]] += 1

    doc: dict = {"tensorrt": trt.__version__, "stage": [], "raw": [], "raw_python_logger": [], "inspector": []}
    with tempfile.TemporaryDirectory(prefix="trtpipe-phases-") as tmp:
        b = Bench(Path(tmp), args.device, 10, time.perf_counter())
        spec = export_models(Path(tmp) / "models", args.quick, ("resnet50",))["resnet50"]
        model, calib = b.put(spec["dir"] / "model.onnx"), b.put(spec["dir"] / "calib.npz")
        graph, lock = annotate(b, model, calib, "fp16")
        cache = b.root / "store" / "timing-phases"
        out, wall = trt_build(b, graph, "fp16", lock, cache)
        b.log(f"cold stage build {wall:.1f} s")
        cache_bytes = Path(out.details["timing_cache"]["path"]).read_bytes()
        for _ in range(args.repeats):
            out, wall = trt_build(b, graph, "fp16", lock, cache)
            phases = {k.removesuffix("_seconds"): round(v, 3) for k, v in out.metrics.items() if k.endswith("_seconds")}
            doc["stage"].append({"wall_s": round(wall, 3), **phases})
            raw, plan = raw_build(b.path(graph), cache_bytes, 64)
            doc["raw"].append(raw)
            counting = Counting()
            raw_py, _ = raw_build(b.path(graph), cache_bytes, 64, counting)
            doc["raw_python_logger"].append({**raw_py, "messages": dict(counting.counts)})
            doc["inspector"].append(inspector_cost(trt, plan))
            b.log(json.dumps({k: v[-1] for k, v in doc.items() if isinstance(v, list)}))
    print(json.dumps(doc, indent=1))
    import statistics

    stage = [r["wall_s"] for r in doc["stage"]]
    raw = [r["total_s"] for r in doc["raw"]]
    kept = [r["total_s"] - r["builder_s"] for r in doc["raw"]]
    pairs = [s / r for s, r in zip(stage, raw)]
    print(f"build stage vs raw API, {args.repeats} alternating pairs: stage median {statistics.median(stage):.2f} s, "
          f"raw median {statistics.median(raw):.2f} s (raw with its Builder kept {statistics.median(kept):.2f} s); "
          f"ratio of medians {statistics.median(stage) / statistics.median(raw):.2f}, per pair "
          + " ".join(f"{x:.2f}" for x in pairs) + " (the stage keeps its Builder, builder_pool.py)")
    own = [r["wall_s"] - r["build"] for r in doc["stage"]]
    print(f"the stage's own work (wall - build call): median {statistics.median(own):.3f} s; build call: stage "
          + " ".join(f"{r['build']:.2f}" for r in doc["stage"]) + ", raw " + " ".join(f"{r['build_s']:.2f}" for r in doc["raw"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
