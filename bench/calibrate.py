#!/usr/bin/env python3
"""Times trtpipe's calibration (issue 12): minmax, entropy and percentile on a ResNet-50.

    python3 bench/calibrate.py --device cuda          # the GPU host (torch backend)
    python3 bench/calibrate.py --device cpu           # ONNX Runtime on the CPU

Needs torch and torchvision (to export the model), onnx, onnxruntime, numpy;
no Node.js, no network; trtpipe_runner is imported from ./runner-py. The model
is torchvision's ResNet-50 architecture with random weights (the timing does
not depend on the weights), exported to ONNX (opset 17, dynamic batch); the
data are 64 random 224x224 images, run in batches of 32. Each method runs
trtpipe's calibrate (calibration/collect.py) over the inputs of every Conv and
Gemm, the tensors the calibrate stage observes, and prints its seconds (the
model's conversion included, as in the stage; an untimed warm-up first pays
for imports and the CUDA context, which a runner process pays once). `--ort` also times
ONNX Runtime's own calibrators on the same data and prints the largest
threshold difference (slow: minutes for entropy); `--check` runs trtpipe's
own CPU path (ONNX Runtime) too, to compare the GPU's thresholds with it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "runner-py"))
sys.path.insert(0, str(HERE.parent / "runner-py" / "tests" / "calibration"))


def export_resnet50(path: Path) -> None:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    kwargs = dict(input_names=["input"], output_names=["logits"], opset_version=17,
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    example = torch.randn(1, 3, 224, 224)
    try:
        torch.onnx.export(model, (example,), str(path), dynamo=False, **kwargs)
    except TypeError:  # a torch without the `dynamo` switch: TorchScript export is its only exporter
        torch.onnx.export(model, (example,), str(path), **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--methods", default="minmax,entropy,percentile")
    ap.add_argument("--engine", choices=["onnxruntime", "torch"], default=None,
                    help="what runs the model (default: torch on a GPU, ONNX Runtime on the CPU); "
                         "--device cpu --engine torch checks the GPU code path on a CPU")
    ap.add_argument("--ort", action="store_true", help="also time ONNX Runtime's calibrators and compare")
    ap.add_argument("--check", action="store_true",
                    help="also run trtpipe's CPU path (ONNX Runtime) and print the largest threshold difference")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()

    import numpy as np

    from trtpipe_runner.calibration.collect import calibrate
    from trtpipe_runner.calibration.observe import pick_device
    from trtpipe_runner.calibration.ranges import quantized_inputs
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.model.load import load_model

    device = pick_device(args.device)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((args.images, 3, 224, 224), dtype=np.float32)
    feeds = [{"input": images[i:i + args.batch]} for i in range(0, args.images, args.batch)]
    figures: dict = {"device": device, "engine": args.engine or ("onnxruntime" if device == "cpu" else "torch"),
                     "images": args.images, "batch": args.batch, "seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet50.onnx"
        t0 = time.perf_counter()
        export_resnet50(path)
        model = load_model(path)
        tensors = quantized_inputs(model)
        print(f"ResNet-50 exported in {time.perf_counter() - t0:.1f} s: {len(model.graph.node)} nodes, "
              f"{len(tensors)} quantized inputs; {args.images} images of 224x224 in batches of {args.batch} on {device} "
              f"({figures['engine']})")
        t0 = time.perf_counter()  # imports, CUDA context: once per runner process, not per stage
        calibrate(model, tensors, lambda: iter([{"input": images[:2]}]), "minmax", 99.99, device, CancelToken(),
                  engine=args.engine)
        figures["warmup_seconds"] = round(time.perf_counter() - t0, 3)
        print(f"warm-up (imports, CUDA context, one 2-image batch): {figures['warmup_seconds']:.2f} s")
        for method in args.methods.split(","):
            t0, c0 = time.perf_counter(), time.process_time()
            result = calibrate(model, tensors, lambda: iter(feeds), method, 99.99, device, CancelToken(),
                               engine=args.engine)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            figures["seconds"][method] = round(seconds, 3)
            figures.setdefault("cpu_seconds", {})[method] = round(cpu, 3)
            line = (f"{method:>10}: {seconds:7.2f} s ({cpu:.1f} s of CPU time over all threads; "
                    f"{result.passes} pass{'es' if result.passes > 1 else ''})")
            if args.check:
                t0 = time.perf_counter()
                cpu = calibrate(model, tensors, lambda: iter(feeds), method, 99.99, "cpu", CancelToken(),
                                engine="onnxruntime")
                worst = max(abs(result.amax[t] - cpu.amax[t]) / max(cpu.amax[t], 1e-12) for t in tensors)
                figures.setdefault("cpu_path_difference", {})[method] = worst
                line += f"; CPU path {time.perf_counter() - t0:.2f} s, largest relative threshold difference {worst:.2e}"
            if args.ort:
                from ort_oracle import ort_thresholds

                t0 = time.perf_counter()
                ref = ort_thresholds(path, tensors, feeds, method, 99.99, Path(tmp))
                ort_s = time.perf_counter() - t0
                worst = max(abs(result.amax[t] - ref[t]) / max(ref[t], 1e-12) for t in tensors)
                figures.setdefault("ort_seconds", {})[method] = round(ort_s, 3)
                line += f"; ONNX Runtime's calibrator {ort_s:.2f} s, largest relative threshold difference {worst:.2e}"
            print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
