#!/usr/bin/env python3
"""Measures trtpipe's torch backend on a GPU host (issue 9). One command:

    python3 bench/gpu_torch_backend.py --out $OUT/gpu.json

Needs Python 3.10+, torch (CUDA build), torchvision, onnx, onnxruntime (CPU),
numpy; no Node.js, no network. trtpipe_runner is imported from ./runner-py.
Check the whole script on a CPU first with:

    python3 bench/gpu_torch_backend.py --device cpu --quick --out /tmp/gpu.json

(a) Accuracy: each example model (digits, transformer, overflow) as fp16,
    bf16 and int8 Q/DQ graphs made by trtpipe's own calibrate (minmax) and
    transform stages (run in-process, io kept fp32), evaluated on the examples' eval data: cosine etc. to the FP32 reference
    (ONNX Runtime CPU, no optimizations) on the torch backend, and the same
    graphs on ONNX Runtime CPU (native, and with trtpipe's fp16/bf16 emulation).
(b) Latency: ResNet-50 (torchvision, random weights) and a BERT-base-sized
    encoder exported to ONNX, annotated fp16 and bf16 (transform stage); the torch backend's
    fp16/fp32 and bf16/fp32 latency ratios at batch 1 and 64 (median of CUDA
    event timings), and its latency over the same nn.Module run natively in
    PyTorch in the same dtype (goal <= 1.15), eager and with CUDA graph replay.
TF32 is off throughout (fp32 means IEEE fp32).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO / "runner-py"), str(HERE)]

import numpy as np  # noqa: E402

EXAMPLES = ("digits", "transformer", "overflow")
GOAL_NATIVE_RATIO = 1.15


# --------------------------------------------------------------------------- graphs
class Stages:
    """trtpipe's own stages, run in this process (trtpipe_runner.run_stage), on one artifact store."""

    def __init__(self, root: Path):
        from trtpipe_runner.artifacts import ArtifactStore

        self.store = ArtifactStore(root)

    def put(self, path: Path) -> str:
        from trtpipe_runner.run_stage import put_copy

        return put_copy(self.store, path)

    def run(self, stage: str, inputs: dict[str, str], params: dict) -> dict[str, str]:
        from trtpipe_runner.run_stage import run_stage

        from tests.stage_params import complete  # the params the orchestrator sends, spelled out

        out, _ = run_stage(stage, inputs, complete(stage, params), self.store)
        return {name: o.sha256 for name, o in out.outputs.items()}

    def path(self, sha: str) -> Path:
        return self.store.require(sha)


def precision_graphs(stages: Stages, model: Path, calib: Path | None, precisions) -> dict[str, Path]:
    """The model annotated by the transform stage: fp16, bf16 (at opset 22, which bf16 Conv and
    pooling need) and int8 (per-tensor activation / per-channel weight Q/DQ from the calibrate
    stage, minmax); fp32 is the model itself."""
    src = stages.put(model)
    graphs = {}
    for precision in precisions:
        if precision == "fp32":
            graphs[precision] = model
            continue
        policy = {"default": precision, "io": "keep"}
        inputs = {"model": src}
        if precision == "bf16":
            policy["opset"] = 22
        if precision == "int8":
            inputs["scales"] = stages.run("calibrate", {"model": src, "calib_data": stages.put(calib)},
                                          {"method": "minmax"})["scales"]
        graphs[precision] = stages.path(stages.run("transform", inputs, {"policy": policy})["model"])
    return graphs


# --------------------------------------------------------------------------- runners
def torch_session(path: Path, device: str, cuda_graph: bool = False):
    """A session of the real backend (build + load, as the stages do)."""
    from trtpipe_runner.backends import get_backend
    from trtpipe_runner.cancel import CancelToken

    backend = get_backend("torch")
    scratch = Path(tempfile.mkdtemp(prefix="torch-build-"))
    built = backend.build(path, scratch, {"device": device, "precision": "fp32"}, CancelToken())
    return backend.load(built.engine, {"device": device, "cuda_graph": cuda_graph}), built


def run_batched(run, x: np.ndarray, batch: int = 64) -> np.ndarray:
    return np.concatenate([run(x[i:i + batch]) for i in range(0, len(x), batch)], axis=0)


def ort_run(path: Path, numerics: str):
    from trtpipe_runner.backends import get_backend
    from trtpipe_runner.cancel import CancelToken

    backend = get_backend("onnxruntime")
    scratch = Path(tempfile.mkdtemp(prefix="ort-build-"))
    from tests.stage_params import build, evaluate

    built = backend.build(path, scratch, build(numerics=numerics), CancelToken())
    return backend.load(built.engine, evaluate())


def metrics_row(got: np.ndarray, ref: np.ndarray, labels: np.ndarray) -> dict:
    from trtpipe_runner.evaluation.metrics import compare, top1_accuracy

    m = compare(got, ref)
    row = {k: m[k] for k in ("cosine", "max_abs", "rel_p99", "nonfinite", "top1_agreement") if k in m}
    row["top1"] = top1_accuracy(got, labels)
    return row


def accuracy_part(device: str, workdir: Path, log) -> list[dict]:
    """(a): every example x {fp32, fp16, bf16, int8} x {torch, ORT CPU, ORT CPU emulated}."""
    import onnxruntime as ort

    from trtpipe_runner.errors import RunnerError
    from trtpipe_runner.model.load import load_model

    rows = []
    for name in EXAMPLES:
        model = load_model(REPO / "examples" / name / "model.onnx")
        ev = np.load(REPO / "examples" / name / "eval.npz")
        x, labels = ev["input"], ev["labels"]
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        ref_sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        ref = run_batched(lambda b: ref_sess.run(None, {"input": b})[0], x)
        graphs = precision_graphs(Stages(workdir / "store"), REPO / "examples" / name / "model.onnx",
                                  REPO / "examples" / name / "calib.npz", ("fp32", "fp16", "bf16", "int8"))
        for precision, path in graphs.items():
            runners = {"torch": lambda p=path: torch_session(p, device)[0],
                       "ort_cpu": lambda p=path: ort_run(p, "native")}
            if precision in ("fp16", "bf16"):
                runners["ort_cpu_emulated"] = lambda p=path: ort_run(p, "emulated")
            for backend, make in runners.items():
                row = {"model": name, "precision": precision, "backend": backend}
                try:
                    session = make()
                    got = run_batched(lambda b: session.run({"input": b})[session.output_names()[0]], x)
                    row.update(metrics_row(got.astype(np.float32), ref, labels))
                except RunnerError as exc:  # e.g. ORT CPU has no bf16 kernel for some op
                    row["error"] = f"{exc.code}: {exc.message}"
                except Exception as exc:  # noqa: BLE001 - one failing cell must not lose the others' numbers
                    row["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                    traceback.print_exc()
                rows.append(row)
                log(f"  {name:12s} {precision:5s} {backend:17s} " + (
                    f"cosine {row['cosine']:.6f} top1 {row['top1']:.4f}" if "cosine" in row else row["error"][:90]))
    return rows


# --------------------------------------------------------------------------- models for latency
def build_resnet50():
    import torchvision

    return torchvision.models.resnet50(weights=None)


def build_bert(layers: int, hidden: int, heads: int, vocab: int = 30522, max_len: int = 512):
    """A BERT-base-shaped encoder from torch.nn modules (post-LN, GELU FFN, learned positions).

    Attention is written out (matmul, softmax, matmul) as BERT's reference
    implementation does, so the exported graph and the native module are the
    same computation; see the report for what F.scaled_dot_product_attention
    would change.
    """
    import torch
    import torch.nn as nn

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(hidden, 3 * hidden)
            self.out = nn.Linear(hidden, hidden)
            self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
            self.ffn = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))
            self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, t, 3, heads, hidden // heads).permute(2, 0, 3, 1, 4)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hidden // heads), dim=-1)
            x = self.ln1(x + self.out((att @ v).transpose(1, 2).reshape(b, t, hidden)))
            return self.ln2(x + self.ffn(x))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(vocab, hidden)
            self.positions = nn.Embedding(max_len, hidden)
            self.ln = nn.LayerNorm(hidden, eps=1e-12)
            self.layers = nn.Sequential(*[Layer() for _ in range(layers)])

        def forward(self, input_ids):
            pos = torch.arange(input_ids.shape[1], device=input_ids.device)
            return self.layers(self.ln(self.tokens(input_ids) + self.positions(pos)))

    return Encoder()


def export(module, example, path: Path, input_name: str, output_name: str) -> None:
    import torch

    kwargs = {"opset_version": 17, "input_names": [input_name], "output_names": [output_name],
              "dynamic_axes": {input_name: {0: "batch"}, output_name: {0: "batch"}}}
    try:
        torch.onnx.export(module, (example,), str(path), dynamo=False, **kwargs)
    except TypeError:  # a torch without the `dynamo` switch: TorchScript export is its only exporter
        torch.onnx.export(module, (example,), str(path), **kwargs)


def median_ms(times: list[float]) -> float:
    return float(np.median(np.asarray(times)))


def time_native(fn, device: str, warmup: int, iterations: int, cuda_graph: bool) -> float:
    from trtpipe_runner.backends.torch.timing import CudaEventTimer, capture_graph
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.timing.loop import TimingPolicy, measure

    if device == "cpu":
        if cuda_graph:
            return float("nan")
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter_ns()
            fn()
            times.append((time.perf_counter_ns() - t0) / 1e6)
        return median_ms(times)
    import torch

    stream = torch.cuda.Stream()
    run = fn
    if cuda_graph:
        run, _ = capture_graph(fn, stream)
    timer = CudaEventTimer(run, stream, torch.device("cuda"))
    return median_ms(measure(timer, TimingPolicy(warmup, 0.0, iterations, 1e9), CancelToken()).times_ms)


def time_ours(session, feed: dict, warmup: int, iterations: int, cuda_graph: bool) -> float:
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.timing.loop import TimingPolicy, measure

    if session.program.device.type == "cpu" and cuda_graph:
        return float("nan")
    session.settings.cuda_graph = cuda_graph
    cancel = CancelToken()
    return median_ms(measure(session.timer(feed, cancel), TimingPolicy(warmup, 0.0, iterations, 1e9), cancel).times_ms)


def cosine(a, b) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def latency_part(device: str, quick: bool, workdir: Path, warmup: int, iterations: int, log) -> list[dict]:
    """(b): ResNet-50 and the BERT-sized encoder, fp32/fp16/bf16, batch 1 and 64."""
    import torch

    torch.manual_seed(0)
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    batches = (1, 4) if quick else (1, 64)
    if quick:
        specs = [("resnet50", build_resnet50, lambda b: torch.randn(b, 3, 64, 64), "input", "logits"),
                 ("bert", lambda: build_bert(2, 64, 4, vocab=1000), lambda b: torch.randint(0, 1000, (b, 16)),
                  "input_ids", "hidden")]
    else:
        specs = [("resnet50", build_resnet50, lambda b: torch.randn(b, 3, 224, 224), "input", "logits"),
                 ("bert-base", lambda: build_bert(12, 768, 12), lambda b: torch.randint(0, 30522, (b, 128)),
                  "input_ids", "hidden")]
    rows = []
    for name, make, sample, in_name, out_name in specs:
        module = make().eval()
        path = workdir / f"{name}.onnx"
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export(module, sample(2), path, in_name, out_name)
        log(f"  exported {name} in {time.perf_counter() - t0:.1f}s ({path.stat().st_size / 1e6:.0f} MB)")
        t0 = time.perf_counter()
        graphs = precision_graphs(Stages(workdir / "store"), path, None, dtypes)
        log(f"  annotated {name} (fp16, bf16) in {time.perf_counter() - t0:.1f}s")
        for precision, dtype in dtypes.items():
            try:
                rows.extend(measure_precision(module, graphs[precision], name, precision, dtype, sample, in_name,
                                              out_name, batches, device, warmup, iterations, log))
            except Exception as exc:  # noqa: BLE001 - keep the other rows; say what failed
                traceback.print_exc()
                rows.append({"model": name, "precision": precision, "error": f"{type(exc).__name__}: {exc}"})
            if device != "cpu":
                torch.cuda.empty_cache()
    return rows


def measure_precision(module, graph_path, name, precision, dtype, sample, in_name, out_name, batches, device,
                      warmup, iterations, log) -> list[dict]:
    """One model in one dtype: our backend vs the native module, eager and CUDA graph, per batch."""
    import torch

    from trtpipe_runner.backends.torch.dtypes import to_numpy

    session, built = torch_session(graph_path, device)
    # A fresh copy per dtype: rounding fp32 -> fp16 -> bf16 in place would change the weights.
    native = copy.deepcopy(module).to(device=device, dtype=dtype)
    rows = []
    for b in batches:
        x = sample(b)
        feed = {in_name: x.numpy()}
        row = {"model": name, "precision": precision, "batch": b,
               "steps": built.details["conversion"]["steps_generic"], "errors": []}
        with torch.inference_mode():
            xd = x.to(device)
            native_in = xd if not xd.is_floating_point() else xd.to(dtype)
            row["cosine_ours_vs_native"] = cosine(session.run(feed)[out_name].astype(np.float32),
                                                  to_numpy(native(native_in).float()))
            measurements = {
                "ours_eager_ms": lambda: time_ours(session, feed, warmup, iterations, False),
                "ours_graph_ms": lambda: time_ours(session, feed, warmup, iterations, True),
                "native_eager_ms": lambda: time_native(lambda: native(native_in), device, warmup, iterations, False),
                "native_graph_ms": lambda: time_native(lambda: native(native_in), device, warmup, iterations, True),
            }
            for key, measure in measurements.items():
                try:
                    row[key] = measure()
                except Exception as exc:  # noqa: BLE001 - e.g. a capture failure: keep the other numbers
                    row[key] = float("nan")
                    row["errors"].append(f"{key}: {type(exc).__name__}: {str(exc).strip()[:200]}")
        rows.append(row)
        log(f"  {name:9s} {precision} b{b:<3d} ours eager {row['ours_eager_ms']:8.3f} ms  graph "
            f"{row['ours_graph_ms']:8.3f} ms | native eager {row['native_eager_ms']:8.3f} ms  graph "
            f"{row['native_graph_ms']:8.3f} ms | cosine {row['cosine_ours_vs_native']:.5f}"
            + (f" | errors: {row['errors']}" if row["errors"] else ""))
    session.close()
    return rows


def ratios(latency: list[dict]) -> list[dict]:
    """fp16/fp32, bf16/fp32 (ours) and ours/native per dtype, per model, batch and mode."""
    out = []
    index = {(r["model"], r["precision"], r["batch"]): r for r in latency if "batch" in r}
    for (model, precision, batch), r in index.items():
        if precision != "fp32":
            continue
        for mode in ("eager", "graph"):
            row = {"model": model, "batch": batch, "mode": mode}
            for p in ("fp16", "bf16"):
                low = index.get((model, p, batch))
                if low:
                    row[f"{p}_over_fp32"] = low[f"ours_{mode}_ms"] / r[f"ours_{mode}_ms"]
            for p in ("fp32", "fp16", "bf16"):
                x = index.get((model, p, batch))
                if x:
                    row[f"ours_over_native_{p}"] = x[f"ours_{mode}_ms"] / x[f"native_{mode}_ms"]
            out.append(row)
    return out


# --------------------------------------------------------------------------- report
def fmt(v, width=9, digits=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-".rjust(width)
    return f"{v:{width}.{digits}f}"


def print_tables(doc: dict) -> None:
    print("\n== accuracy vs FP32 reference (examples' eval data) ==")
    print(f"{'model':12s} {'prec':5s} {'backend':17s} {'cosine':>9s} {'max_abs':>9s} {'top1agr':>8s} "
          f"{'top1':>7s} {'nonfin':>6s}")
    for r in doc["accuracy"]:
        if "error" in r:
            print(f"{r['model']:12s} {r['precision']:5s} {r['backend']:17s} error: {r['error'][:80]}")
            continue
        print(f"{r['model']:12s} {r['precision']:5s} {r['backend']:17s} {r['cosine']:9.6f} {fmt(r['max_abs'])} "
              f"{fmt(r.get('top1_agreement'), 8, 4)} {r['top1']:7.4f} {int(r['nonfinite']):6d}")
    print("\n== latency (median ms, CUDA events; TF32 off) ==")
    print(f"{'model':10s} {'prec':5s} {'batch':>5s} {'ours eager':>11s} {'ours graph':>11s} {'native eager':>13s} "
          f"{'native graph':>13s} {'cos vs native':>14s}")
    for r in doc["latency"]:
        if "batch" not in r:
            print(f"{r['model']:10s} {r['precision']:5s} error: {r.get('error', '')[:100]}")
            continue
        print(f"{r['model']:10s} {r['precision']:5s} {r['batch']:5d} {fmt(r['ours_eager_ms'], 11)} "
              f"{fmt(r['ours_graph_ms'], 11)} {fmt(r['native_eager_ms'], 13)} {fmt(r['native_graph_ms'], 13)} "
              f"{r['cosine_ours_vs_native']:14.6f}")
    print(f"\n== ratios (goal: ours/native <= {GOAL_NATIVE_RATIO}; fp16|bf16/fp32 well under 0.5 at batch 64) ==")
    print(f"{'model':10s} {'batch':>5s} {'mode':6s} {'fp16/fp32':>10s} {'bf16/fp32':>10s} {'ours/nat fp32':>14s} "
          f"{'ours/nat fp16':>14s} {'ours/nat bf16':>14s}")
    for r in doc["ratios"]:
        print(f"{r['model']:10s} {r['batch']:5d} {r['mode']:6s} {fmt(r.get('fp16_over_fp32'), 10)} "
              f"{fmt(r.get('bf16_over_fp32'), 10)} {fmt(r.get('ours_over_native_fp32'), 14)} "
              f"{fmt(r.get('ours_over_native_fp16'), 14)} {fmt(r.get('ours_over_native_bf16'), 14)}")


def environment(device: str) -> dict:
    import onnx
    import onnxruntime
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
           "device": device, "host": platform.node()}
    try:
        import torchvision

        env["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    if device != "cpu":
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(gpu=props.name, compute_capability=f"{props.major}.{props.minor}",
                   gpu_memory_bytes=int(props.total_memory))
        from trtpipe_runner.capabilities import probe_gpus

        drivers = [g.driver_version for g in probe_gpus()]
        env["driver"] = drivers[0] if drivers else ""
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a dry run")
    parser.add_argument("--quick", action="store_true", help="small models and batches (a CPU check of the script)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs per measurement")
    parser.add_argument("--iterations", type=int, default=None, help="timed runs per measurement")
    parser.add_argument("--skip", choices=("accuracy", "latency"), action="append", default=[],
                        help="leave a part out")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else (2 if args.quick else 10)
    iterations = args.iterations if args.iterations is not None else (5 if args.quick else 50)

    import torch

    from trtpipe_runner.backends.torch.settings import check_device, set_tf32

    check_device(args.device)
    set_tf32(False)  # fp32 is IEEE fp32, natively and on the backend
    torch.set_grad_enabled(False)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    doc = {"environment": environment(args.device), "quick": args.quick, "warmup": warmup,
           "iterations": iterations, "accuracy": [], "latency": [], "ratios": []}
    with tempfile.TemporaryDirectory(prefix="trtpipe-bench-") as tmp:
        workdir = Path(tmp)
        if "accuracy" not in args.skip:
            log("(a) accuracy of the example models")
            doc["accuracy"] = accuracy_part(args.device, workdir, log)
        if "latency" not in args.skip:
            log("(b) latency of ResNet-50 and the BERT-sized encoder")
            doc["latency"] = latency_part(args.device, args.quick, workdir, warmup, iterations, log)
            doc["ratios"] = ratios(doc["latency"])
    doc["seconds"] = round(time.perf_counter() - started, 1)
    from trtpipe_runner.jsonsafe import sanitize

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(sanitize(doc), indent=1) + "\n")
    print_tables(doc)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    raise SystemExit(main())
