#!/usr/bin/env python3
"""The torch backend's fused attention and real int8/fp8 kernels on a GPU host (issue 15). One command:

    python3 bench/gpu_torch_kernels.py --out $OUT          # about 3 minutes on an H200

Needs torch (CUDA), timm, transformers, onnx, onnxruntime (CPU), numpy; no network (random weights).
Check the script itself on a CPU with `--device cpu --quick` (small models, eager timing: the
figures mean nothing there). Writes $OUT/gpu_torch_kernels.json and prints:

(a) Fused attention: timm vit_base_patch16_224 and transformers BERT-base (seq 128), exported once
    (TorchScript exporter, opset 17) and annotated fp16 and bf16 by the transform stage; batch 1
    and 32, CUDA graph replay. Latency of the backend (attention fused), of the same graph with
    `fuse: false`, and of the nn.Module run natively in the same dtype (also replayed): goal
    ours / native <= 1.0. Cosine of the fused output to the unfused graph's (goal >= 0.99999) and of
    both to the FP32 graph's.
(b) Real kernels: BERT-base at batch 64, int8 and fp8 Q/DQ graphs (calibrate minmax + transform):
    latency with the Q/DQ GEMMs on torch._int_mm / torch._scaled_mm over the fp16 graph (goal <= 0.8
    each), and accuracy against the FP32 graph (cosine, max abs) next to the same graph emulated
    (`fuse: false`: fake quantization, fp32 GEMMs).
TF32 is off throughout.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "runner-py"), str(HERE)]

import numpy as np  # noqa: E402

from gpu_torch_backend import Stages, cosine, environment, median_ms, precision_graphs, time_native  # noqa: E402

GOAL_ATTENTION, GOAL_QUANT = 1.0, 0.8


def vit(quick: bool):
    import timm
    import torch

    kwargs = dict(depth=2, embed_dim=192, num_heads=3, img_size=64) if quick else {}
    module = timm.create_model("vit_base_patch16_224", pretrained=False, **kwargs).eval()
    size = 64 if quick else 224
    rng = np.random.default_rng(0)
    return module, ["image"], lambda b: {"image": rng.standard_normal((b, 3, size, size)).astype(np.float32)}, \
        lambda feed, dev, dt: (torch.from_numpy(feed["image"]).to(dev, dt),)


def bert(quick: bool, seq: int = 128):
    import torch
    import transformers as tf

    config = tf.BertConfig(num_hidden_layers=2, hidden_size=128, num_attention_heads=4, intermediate_size=512) \
        if quick else tf.BertConfig()
    seq = 16 if quick else seq
    model = tf.BertModel(config, add_pooling_layer=False).eval()

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    rng = np.random.default_rng(0)

    def feed(b):
        mask = np.ones((b, seq), np.int64)
        mask[: b // 2, -seq // 4:] = 0  # half the batch padded: the additive mask matters
        return {"input_ids": rng.integers(1000, 30000, (b, seq), dtype=np.int64), "attention_mask": mask}
    def native_args(f, dev, dt):
        # The padding mask as the 4-D boolean mask transformers builds from it, made here: building it
        # inside the module reads the mask on the host (mask.all()), which a CUDA graph cannot capture.
        mask = torch.from_numpy(f["attention_mask"]).to(dev).bool()[:, None, None, :]
        return torch.from_numpy(f["input_ids"]).to(dev), mask.expand(-1, 1, mask.shape[-1], -1)
    return Encoder().eval(), ["input_ids", "attention_mask"], feed, native_args


def export(module, names, feed, path: Path) -> None:
    import torch

    example = tuple(torch.from_numpy(v) for v in feed(1).values())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, str(path), dynamo=False, opset_version=17, input_names=names,
                          output_names=["out"], dynamic_axes={n: {0: "batch"} for n in names + ["out"]})


_ANNOTATED: dict = {}


def annotated(workdir: Path, path: Path, precisions) -> dict[str, Path]:
    """fp32/fp16/bf16 graphs of an export, made once by the transform stage."""
    missing = [p for p in precisions if (path, p) not in _ANNOTATED]
    if missing:
        for p, graph in precision_graphs(Stages(workdir / "store"), path, None, missing).items():
            _ANNOTATED[(path, p)] = graph
    return {p: _ANNOTATED[(path, p)] for p in precisions}


def session(path: Path, device: str, fuse: bool = True, cuda_graph: bool = True, compile: bool = False):
    from trtpipe_runner.backends import get_backend
    from trtpipe_runner.cancel import CancelToken

    backend = get_backend("torch")
    built = backend.build(path, Path(tempfile.mkdtemp(prefix="kernels-build-")),
                          {"device": device, "precision": "fp32", "fuse": fuse, "compile": compile}, CancelToken())
    return backend.load(built.engine, {"device": device, "cuda_graph": cuda_graph and device != "cpu", "fuse": fuse,
                                       "compile": compile})


def latency(s, feed: dict, warmup: int, iterations: int) -> float:
    """The session's own timer under the benchmark stage's protocol (timing/loop.py)."""
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.timing.loop import TimingPolicy, measure

    cancel = CancelToken()
    return median_ms(measure(s.timer(feed, cancel), TimingPolicy(warmup, 0.0, iterations, 1e9), cancel).times_ms)


def output(s, feed: dict) -> np.ndarray:
    return s.run(feed)[s.output_names()[0]].astype(np.float32)


def attention_part(spec, name, device, quick, workdir, warmup, iterations, log) -> list[dict]:
    import torch

    module, names, feed, native_args = spec
    path = workdir / f"{name}.onnx"
    export(module, names, feed, path)
    graphs = annotated(workdir, path, ("fp32", "fp16", "bf16"))
    log(f"  {name}: exported and annotated")
    fp32 = session(graphs["fp32"], device, cuda_graph=False)
    rows = []
    for precision, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        fused, unfused = session(graphs[precision], device), session(graphs[precision], device, fuse=False)
        count = fused.program.summary()["fused_attention"]
        native = __import__("copy").deepcopy(module).to(device=device, dtype=dtype)
        for b in (1, 4) if quick else (1, 32):
            f = feed(b)
            row = {"model": name, "precision": precision, "batch": b, "fused_attention_nodes": count}
            try:
                ref, got, plain = output(fp32, f), output(fused, f), output(unfused, f)
                row.update(cosine_fused_vs_unfused=cosine(got, plain), cosine_fused_vs_fp32=cosine(got, ref),
                           cosine_unfused_vs_fp32=cosine(plain, ref))
                row["ours_ms"] = latency(fused, f, warmup, iterations)
                row["unfused_ms"] = latency(unfused, f, warmup, iterations)
                with torch.inference_mode():
                    args = native_args(f, device, dtype)
                    row["native_ms"] = time_native(lambda: native(*args), device, warmup, iterations,
                                                   device != "cpu")  # CUDA graph replay as ours
                row["ours_over_native"] = row["ours_ms"] / row["native_ms"]
                row["runtime_fallbacks"] = fused.program.runtime_fallbacks()
            except Exception as exc:  # noqa: BLE001 - keep the other rows; say what failed
                traceback.print_exc()
                row["error"] = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            rows.append(row)
            log(f"  {name} {precision} b{b}: " + (row.get("error") or
                f"ours {row['ours_ms']:.3f} ms (unfused {row['unfused_ms']:.3f}) native {row['native_ms']:.3f} "
                f"-> {row['ours_over_native']:.3f}; cosine vs unfused {row['cosine_fused_vs_unfused']:.6f}"))
        del native
        if device != "cpu":
            torch.cuda.empty_cache()
    return rows


def quantized_graphs(stages: Stages, model: Path, calib: Path) -> dict[str, Path]:
    """int8 and fp8 (opset 19) Q/DQ graphs from one calibration (minmax)."""
    src = stages.put(model)
    scales = stages.run("calibrate", {"model": src, "calib_data": stages.put(calib)}, {"method": "minmax"})["scales"]
    out = {}
    for kind in ("int8", "fp8"):
        # As a torch target gets it (what int8 does not quantize stays fp32), and as a TensorRT target
        # does (precision.unquantized: fp16, issue 23): the rest of the graph then runs in fp16 too.
        for rest in ("fp32", "fp16"):
            policy = {"default": kind, "io": "keep", "unquantized": rest, **({"opset": 19} if kind == "fp8" else {})}
            name = kind if rest == "fp32" else f"{kind}-fp16rest"
            out[name] = stages.path(stages.run("transform", {"model": src, "scales": scales}, {"policy": policy})["model"])
    return out


def top_kernels(s, feed: dict, runs: int = 5) -> list[dict]:
    """The GPU kernels one run of the session spends its time in (torch.profiler, eager: a replayed
    CUDA graph hides its kernels from the profiler), by total device time."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    s.run(feed)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(runs):
            s.run(feed)
        torch.cuda.synchronize()
    rows = []
    for e in prof.key_averages():
        us = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)
        if us:
            rows.append({"name": e.key, "us": us / runs, "calls": e.count // runs})
    return sorted(rows, key=lambda r: -r["us"])[:25]


KINDS = ("int8", "int8-fp16rest", "fp8", "fp8-fp16rest")


def kernels_part(spec, device, quick, workdir, warmup, iterations, log, profile=False,
                 compile: bool = False, kinds=KINDS) -> list[dict]:
    from trtpipe_runner.evaluation.metrics import compare

    module, names, feed, _ = spec
    path = workdir / "bert.onnx"
    if not path.exists():
        export(module, names, feed, path)
    batch = 4 if quick else 64
    calib = workdir / "calib.npz"
    np.savez(calib, **feed(8 if quick else 32))
    stages = Stages(workdir / "store")
    graphs = {**annotated(workdir, path, ("fp32", "fp16")), **quantized_graphs(stages, path, calib)}
    log("  bert: int8 and fp8 graphs made")
    f = feed(batch)
    ref = output(session(graphs["fp32"], device, cuda_graph=False), f)
    fp16 = session(graphs["fp16"], device)
    fp16_ms = latency(fp16, f, warmup, iterations)
    rows = [{"precision": "fp16", "batch": batch, "ms": fp16_ms, **_accuracy(compare(output(fp16, f), ref))}]
    modes = [("real", True, False), ("emulated", False, False)]
    if compile:  # TorchInductor (compile: true), the fp16 graph compiled too: ratios of like with like
        modes.append(("compiled", True, True))
        t0 = time.perf_counter()
        fp16c = session(graphs["fp16"], device, compile=True)
        fp16c_ms = latency(fp16c, f, warmup, iterations)
        rows.append({"precision": "fp16", "mode": "compiled", "batch": batch, "ms": fp16c_ms,
                     "over_fp16": fp16c_ms / fp16_ms, "compile_s": time.perf_counter() - t0,
                     **_accuracy(compare(output(fp16c, f), ref))})
        log(f"  bert fp16 compiled: {fp16c_ms:.3f} ms ({fp16c_ms / fp16_ms:.3f} of eager fp16)")
    for kind in kinds:
        for mode, fuse, comp in modes:
            row = {"precision": kind, "mode": mode, "batch": batch}
            try:
                t0 = time.perf_counter()
                s = session(graphs[kind], device, fuse=fuse, compile=comp)
                row["quantized_gemms"] = s.program.summary()["quantized_gemms"]
                row.update(_accuracy(compare(output(s, f), ref)))
                row["ms"] = latency(s, f, warmup, iterations)
                row["over_fp16"] = row["ms"] / fp16_ms
                if comp:
                    row["over_fp16_compiled"] = row["ms"] / fp16c_ms
                    row["compile_s"] = time.perf_counter() - t0
                if profile and mode == "real":
                    row["top_kernels"] = top_kernels(session(graphs[kind], device, cuda_graph=False), f)
                    log("    top kernels (us per run, calls): " + "; ".join(
                        f"{k['name'][:60]} {k['us']:.0f} x{k['calls']}" for k in row["top_kernels"][:12]))
            except Exception as exc:  # noqa: BLE001 - e.g. no fp8 kernel on this GPU: keep the other rows
                traceback.print_exc()
                row["error"] = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            rows.append(row)
            log(f"  bert {kind} {mode}: " + (row.get("error") or
                f"{row['ms']:.3f} ms ({row['over_fp16']:.3f} of fp16"
                + (f", {row['over_fp16_compiled']:.3f} of compiled fp16" if comp else "")
                + f"), cosine {row['cosine']:.6f}, {row['quantized_gemms']} GEMMs on the real kernel"))
    return rows


def _accuracy(m: dict) -> dict:
    return {"cosine": m["cosine"], "max_abs": m["max_abs"]}


def print_tables(doc: dict) -> None:
    print(f"\n== (a) fused attention, CUDA graph replay (goal: ours/native <= {GOAL_ATTENTION}, "
          "cosine fused vs unfused >= 0.99999) ==")
    print(f"{'model':6s} {'prec':5s} {'batch':>5s} {'ours ms':>9s} {'unfused':>9s} {'native':>9s} {'ours/nat':>9s} "
          f"{'cos f/u':>10s} {'cos f/32':>10s} {'cos u/32':>10s}")
    for r in doc["attention"]:
        if "error" in r:
            print(f"{r['model']:6s} {r['precision']:5s} {r['batch']:5d} error: {r['error'][:90]}")
            continue
        print(f"{r['model']:6s} {r['precision']:5s} {r['batch']:5d} {r['ours_ms']:9.3f} {r['unfused_ms']:9.3f} "
              f"{r['native_ms']:9.3f} {r['ours_over_native']:9.3f} {r['cosine_fused_vs_unfused']:10.7f} "
              f"{r['cosine_fused_vs_fp32']:10.7f} {r['cosine_unfused_vs_fp32']:10.7f}")
    print(f"\n== (b) BERT-base, real int8/fp8 kernels vs emulation (goal: real / fp16 <= {GOAL_QUANT}) ==")
    print(f"{'prec':13s} {'mode':9s} {'batch':>5s} {'ms':>9s} {'/fp16':>7s} {'cos vs fp32':>12s} {'max abs':>9s} "
          f"{'real GEMMs':>10s}")
    for r in doc["kernels"]:
        if "error" in r:
            print(f"{r['precision']:13s} {r.get('mode', ''):9s} error: {r['error'][:90]}")
            continue
        compiled = f" {r['over_fp16_compiled']:.3f} of compiled fp16" if "over_fp16_compiled" in r else ""
        print(f"{r['precision']:13s} {r.get('mode', '-'):9s} {r['batch']:5d} {r['ms']:9.3f} "
              f"{r.get('over_fp16', 1.0):7.3f} {r['cosine']:12.7f} {r['max_abs']:9.4f} "
              f"{str(r.get('quantized_gemms', '-')):>10s}{compiled}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory for gpu_torch_kernels.json")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a dry run")
    parser.add_argument("--quick", action="store_true", help="small models and batches (a CPU check of the script)")
    parser.add_argument("--iterations", type=int, default=None, help="timed runs per measurement")
    parser.add_argument("--skip", choices=("attention", "kernels"), action="append", default=[])
    parser.add_argument("--profile", action="store_true", help="print the top GPU kernels of each real-kernel run")
    parser.add_argument("--compile", action="store_true",
                        help="(b) also with compile: true (TorchInductor), fp16 compiled as the reference")
    parser.add_argument("--kinds", nargs="*", choices=KINDS, default=list(KINDS), help="(b) the quantized graphs")
    args = parser.parse_args(argv)
    warmup, iterations = (1, 3) if args.quick else (5, args.iterations or 30)

    import torch

    from trtpipe_runner.backends.torch.settings import check_device, set_tf32
    from trtpipe_runner.jsonsafe import sanitize

    check_device(args.device)
    set_tf32(False)
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    doc = {"environment": environment(args.device), "quick": args.quick, "warmup": warmup, "iterations": iterations,
           "attention": [], "kernels": []}
    with tempfile.TemporaryDirectory(prefix="trtpipe-kernels-") as tmp:
        workdir = Path(tmp)
        bert_spec = bert(args.quick)
        if "attention" not in args.skip:
            log("(a) fused attention: ViT and BERT")
            for name, spec in (("vit", vit(args.quick)), ("bert", bert_spec)):
                doc["attention"] += attention_part(spec, name, args.device, args.quick, workdir, warmup, iterations,
                                                   log)
        if "kernels" not in args.skip:
            log("(b) real int8/fp8 kernels: BERT")
            doc["kernels"] = kernels_part(bert_spec, args.device, args.quick, workdir, warmup, iterations, log,
                                          args.profile and args.device != "cpu", args.compile, args.kinds)
    doc["seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "gpu_torch_kernels.json"
    out.write_text(json.dumps(sanitize(doc), indent=1) + "\n")
    print_tables(doc)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
