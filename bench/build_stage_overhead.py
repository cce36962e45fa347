#!/usr/bin/env python3
"""The build stage's own work around TensorRT, timed on a CPU (issue 23, goal: stage wall <= 1.10 x raw API).

    python3 bench/build_stage_overhead.py [--repeats 3] [--precision fp16]

Exports torchvision's ResNet-50 (random weights, opset 17, dynamic batch), annotates it with
trtpipe's transform, then runs the real build stage (stages/build_stage.py -> the tensorrt
backend) with the project's TensorRT test double standing in for TensorRT, under cProfile.
The double's own calls (parsing, "building", deserializing, its inspector) are timed apart:
what remains is trtpipe's work around TensorRT (loading and checking the model, explain,
packaging and storing the engine), the part a GPU host pays on top of the raw API. The double
writes a larger plan than TensorRT would (the model, hex-encoded), so packaging is over-counted.

Run it on two checkouts to compare (the script imports runner-py/ next to it). Needs torch and
torchvision (export), onnx, onnxruntime, numpy; no GPU, no network. About 1 minute on 2 cores.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "runner-py")]

# Entry points of the test double: time spent below them is "TensorRT", not trtpipe.
DOUBLE_FILES = ("fake_trt_build.py", "fake_trt_runtime.py", "fake_tensorrt.py")
DOUBLE_CALLS = ("parse_from_file", "build_serialized_network", "deserialize_cuda_engine", "get_engine_information",
                "create_execution_context", "serialize")


def export_resnet50(path: Path) -> None:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def install_double() -> None:
    from tests.backends.tensorrt.fake_tensorrt import FakeCudaApi, FakeTensorRT
    from trtpipe_runner import capabilities
    from trtpipe_runner.backends.tensorrt import cuda_api, runtime

    trt = FakeTensorRT("10.6.0")
    sys.modules["tensorrt"] = trt
    cuda = FakeCudaApi(trt._gpu)
    cuda_api.get_cuda_api = runtime.get_cuda_api = lambda: cuda
    capabilities.probe_gpus = lambda: []


def double_seconds(stats: pstats.Stats) -> float:
    """Cumulative seconds in the double's entry points (outermost calls only: none of them nest)."""
    total = 0.0
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file.endswith(DOUBLE_FILES) and name in DOUBLE_CALLS:
            total += ct
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precision", default="fp16", choices=["fp32", "fp16"])
    args = ap.parse_args(argv)
    from tests.stage_params import complete
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.run_stage import put_copy, run_stage

    root = Path(tempfile.mkdtemp(prefix="trtpipe-build-overhead-"))
    try:
        export_resnet50(root / "resnet50.onnx")
        install_double()
        store = ArtifactStore(root / "store")
        model = put_copy(store, root / "resnet50.onnx")
        t, _ = run_stage("transform", {"model": model}, complete("transform", {"policy": {"default": args.precision}}),
                         store)
        graph = t.outputs["model"].sha256
        print(f"ResNet-50 {args.precision}, annotated graph {store.require(graph).stat().st_size / 2**20:.1f} MiB")
        rows = []
        for i in range(args.repeats):
            params = complete("build", {"backend": "tensorrt", "precision": args.precision, "max_batch": 64,
                                        "timing_cache_dir": f"timing-{i}"})  # under the store, as the build requires
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.enable()
            out, _ = run_stage("build", {"model": graph}, params, store)
            prof.disable()
            wall = time.perf_counter() - t0
            double = double_seconds(pstats.Stats(prof))
            rows.append((wall, double, wall - double))
            print(f"  run {i + 1}: stage {wall:.3f} s, test double {double:.3f} s, trtpipe's own {wall - double:.3f} s"
                  f" ({len(out.details.get('explain', []))} nodes explained)")
        own = sorted(r[2] for r in rows)[len(rows) // 2]
        print(f"trtpipe's own work in the build stage (median of {len(rows)}, cProfile on): {own:.3f} s")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(r"trtpipe_runner/(backends|stages|model)", 14)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
