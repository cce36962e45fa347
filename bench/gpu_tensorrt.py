#!/usr/bin/env python3
"""TensorRT engine figures through trtpipe's own stages (issue 23); run by bench/gpu_tensorrt.sh.

    python3 bench/gpu_tensorrt.py --out DIR [--parts resnet50 bert examples]

Per model (ResNet-50 from torchvision and a BERT-base BertModel from transformers, random
weights, exported here; seq 128) and precision (fp32 fp16 bf16 int8 fp8): calibrate (minmax,
int8/fp8) -> transform -> build (tensorrt backend, max_batch 64) -> benchmark (batch 1 and 64,
CUDA graph) on TensorRT and on the torch evaluator, and native PyTorch in the same dtype.
int8 and fp8 are built as the orchestrator sends them for a TensorRT target (precision.unquantized
fp16, opset raised to 19); two more int8 variants measure before/after in the same run (TensorRT
only): int8-fp32rest (leftovers fp32, residual Adds quantized) and int8-before (main before
issue 23's placement work: leftovers fp32, no residual Q/DQ).
ResNet-50 fp16 also: a warm rebuild against the cold build's timing cache, and the same build
through the raw TensorRT API in this process, against the build stage's wall time.
Fidelity: cosine between the torch backend's output and TensorRT's output for the same
annotated graph, on the examples (digits, transformer, overflow) and on ResNet-50/BERT.
Prints tables and writes DIR/gpu_tensorrt.json. A cell that fails is reported, never fatal.

CPU check of the whole flow (TensorRT replaced by the project's test double, torch on CPU):
    python3 bench/gpu_tensorrt.py --out /tmp/trt-bench --quick --device cpu --fake-tensorrt
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

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "runner-py"), str(REPO / "bench")]

import numpy as np  # noqa: E402

from gpu_tensorrt_report import print_tables, ratios  # noqa: E402

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "int8-stemfp16", "int8-fp16rest-casts", "int8-fp32rest", "int8-before",
              "fp8")
# label -> (precision built, policy additions, residual Q/DQ stripped): int8 as it is built now and
# as it was, so one GPU run measures the placement and precision.unquantized work (issue 23).
VARIANTS = {
    "int8": ("int8", {"unquantized": "fp16"}, False),
    "fp8": ("fp8", {"unquantized": "fp16"}, False),
    # fp16 leftovers with the stem convolution (3 input channels) left unquantized: TensorRT 10.6 found
    # "no supported formats" for an fp16-scaled int8 stem (bench/gpu_trt_qdq_forms.py probes why)
    "int8-stemfp16": ("int8", {"unquantized": "fp16", "rules": [{"match": {"name": ["/conv1/Conv"]}, "use": "fp16"}]},
                      False),
    # fp16 leftovers, the quantized layers computing in fp32 behind Casts (fp32 scales, opset 17):
    # single layers of this form build on 10.6 (bench/gpu_trt_qdq_forms.py, fp32-casts)
    "int8-fp16rest-casts": ("int8", {"unquantized": "fp16", "opset": 17}, False),
    "int8-fp32rest": ("int8", {"unquantized": "fp32"}, False),
    "int8-before": ("int8", {"unquantized": "fp32"}, True),
}
EXAMPLES = ("digits", "transformer", "overflow")


class Bench:
    """trtpipe's stages in this process on one artifact store, with a log and the results."""

    def __init__(self, root: Path, device: str, iterations: int, started: float):
        from trtpipe_runner.artifacts import ArtifactStore

        self.root, self.store, self.device, self.iterations = root, ArtifactStore(root / "store"), device, iterations
        self.started = started
        self.doc: dict = {"builds": [], "latency": [], "fidelity": [], "timing_cache": [], "build_wall": []}

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)

    def put(self, path: Path) -> str:
        from trtpipe_runner.run_stage import put_copy

        return put_copy(self.store, path)

    def put_bytes(self, data: bytes) -> str:
        return self.store.put_bytes(data)

    def stage(self, name: str, inputs: dict, params: dict):
        from trtpipe_runner.run_stage import run_stage

        from tests.stage_params import complete  # the params the orchestrator sends, spelled out

        return run_stage(name, inputs, complete(name, params), self.store)

    def path(self, sha: str) -> Path:
        return self.store.require(sha)


# --------------------------------------------------------------------------- models
def export_models(folder: Path, quick: bool, names=("resnet50", "bert")) -> dict[str, dict]:
    """ResNet-50 and BERT-base (random weights) as ONNX, with calib/eval data beside them (those in `names`)."""
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    out = {}
    import torchvision

    hw = 64 if quick else 224
    resnet = torchvision.models.resnet50(weights=None).eval()
    d = folder / "resnet50"
    d.mkdir(parents=True, exist_ok=True)
    _export(resnet, (torch.randn(1, 3, hw, hw),), d / "model.onnx", ["input"], ["logits"])
    for name, n in (("calib", 16), ("eval", 64)):
        np.savez(d / f"{name}.npz", input=rng.standard_normal((n, 3, hw, hw), dtype=np.float32))
    out["resnet50"] = {"dir": d, "module": resnet, "sample": lambda b: {"input": torch.randn(b, 3, hw, hw)}}
    if "bert" not in names:
        return out

    from transformers import BertConfig, BertModel

    seq = 16 if quick else 128
    config = BertConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                        vocab_size=1000) if quick else BertConfig()
    bert = BertModel(config, add_pooling_layer=False).eval()
    bert.config.return_dict = False

    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]

    encoder = Encoder(bert).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    vocab = config.vocab_size
    d = folder / "bert"
    d.mkdir(parents=True, exist_ok=True)
    ids = torch.randint(0, vocab, (1, seq))
    _export(encoder, (ids, torch.ones_like(ids), torch.zeros_like(ids)), d / "model.onnx", names,
            ["last_hidden_state"])
    for name, n in (("calib", 16), ("eval", 64)):
        np.savez(d / f"{name}.npz", input_ids=rng.integers(0, vocab, (n, seq), dtype=np.int64),
                 attention_mask=np.ones((n, seq), np.int64), token_type_ids=np.zeros((n, seq), np.int64))

    def bert_sample(b):
        x = torch.randint(0, vocab, (b, seq))
        return {"input_ids": x, "attention_mask": torch.ones_like(x), "token_type_ids": torch.zeros_like(x)}

    out["bert"] = {"dir": d, "module": encoder, "sample": bert_sample}
    return out


def _export(module, args, path: Path, inputs: list[str], outputs: list[str]) -> None:
    import torch

    kwargs = dict(input_names=inputs, output_names=outputs, opset_version=17,
                  dynamic_axes={n: {0: "batch"} for n in inputs + outputs})
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # the TorchScript exporter names nodes after modules, as users see them
            torch.onnx.export(module, args, str(path), dynamo=False, **kwargs)
        except TypeError:
            torch.onnx.export(module, args, str(path), **kwargs)


# --------------------------------------------------------------------------- stages
def built_as(label: str) -> str:
    """The precision a label builds (int8-before -> int8)."""
    return VARIANTS.get(label, (label,))[0]


def annotate(b: Bench, model: str, calib: str, label: str) -> tuple[str, list]:
    """The transform stage's graph for one precision or variant (int8/fp8: Q/DQ from minmax calibration)."""
    precision, extra, strip = VARIANTS.get(label, (label, {}, False))
    policy = {"default": precision, "io": "keep", **extra}
    inputs = {"model": model}
    if precision == "bf16":
        policy["opset"] = 22  # bf16 Conv and pooling exist from opset 22
    if precision == "fp8":
        policy["opset"] = 19  # float8 Q/DQ exist from opset 19
    if precision in ("int8", "fp8"):
        scales, _ = b.stage("calibrate", {"model": model, "calib_data": calib}, {"method": "minmax", "batch": 16})
        inputs["scales"] = scales.outputs["scales"].sha256
    out, _ = b.stage("transform", inputs, {"policy": policy})
    graph = out.outputs["model"].sha256
    if strip:
        graph = b.put_bytes(without_residual_qdq(b.path(graph)))
    return graph, out.details.get("lock", [])


def without_residual_qdq(path: Path) -> bytes:
    """The annotated graph with the Adds reading their inputs unquantized again: before issue 23
    no Add read a DequantizeLinear (Q/DQ went only on the inputs of Conv, Gemm and MatMul)."""
    import onnx

    m = onnx.load(str(path))
    made_by = {o: n for n in m.graph.node for o in n.output}
    for node in m.graph.node:
        if node.op_type != "Add":
            continue
        for i, t in enumerate(node.input):
            dq = made_by.get(t)
            if dq is not None and dq.op_type == "DequantizeLinear" and dq.name.startswith("trtpipe/qdq/"):
                node.input[i] = made_by[dq.input[0]].input[0]
    read = {t for n in m.graph.node for t in n.input} | {o.name for o in m.graph.output}
    while True:  # drop the Q/DQ pairs nothing reads now
        unread = [n for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")
                  and not any(o in read for o in n.output)]
        if not unread:
            break
        for n in unread:
            m.graph.node.remove(n)
        read = {t for n in m.graph.node for t in n.input} | {o.name for o in m.graph.output}
    keep = [i for i in m.graph.initializer if i.name in read]  # and their scales and zero points
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    return m.SerializeToString()


def trt_build(b: Bench, graph: str, precision: str, lock: list, cache: Path, max_batch: int = 64):
    out, wall = b.stage("build", {"model": graph}, {"backend": "tensorrt", "precision": precision, "lock": lock,
                                                    "max_batch": max_batch, "timing_cache_dir": str(cache)})
    return out, wall


def p50s(b: Bench, engine: str, eval_data: str, backend: str, precision: str, batches) -> dict[int, float]:
    out, _ = b.stage("benchmark", {"engine": engine, "eval_data": eval_data},
                     {"backend": backend, "batches": list(batches), "warmup": 10, "iterations": b.iterations,
                      "cuda_graph": True})
    return {bs: out.metrics[f"b{bs}.latency_p50_ms"] for bs in batches}


def torch_engine(b: Bench, graph: str, precision: str) -> str:
    out, _ = b.stage("build", {"model": graph}, {"backend": "torch", "precision": precision, "device": b.device})
    return out.outputs["engine"].sha256


def outputs_of(backend: str, engine: Path, feeds: dict, device: str) -> np.ndarray:
    from trtpipe_runner.backends import get_backend

    session = get_backend(backend).load(engine, {"device": device} if backend == "torch" else {})
    try:
        out = session.run(feeds)
        return np.asarray(out[session.output_names()[0]], np.float64)
    finally:
        close = getattr(session, "close", None)
        if close:
            close()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def fidelity_row(b: Bench, name: str, precision: str, trt_engine: str, torch_eng: str, eval_npz: Path,
                 ref_graph: Path) -> dict:
    """Cosine of the torch evaluator's output to TensorRT's, same graph and inputs; both to FP32 ORT."""
    import onnxruntime as ort

    with np.load(eval_npz) as data:
        feeds = {k: data[k][:32] for k in data.files if k != "labels"}
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(ref_graph), so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    got_trt = outputs_of("tensorrt", b.path(trt_engine), feeds, b.device)
    got_torch = outputs_of("torch", b.path(torch_eng), feeds, b.device)
    return {"model": name, "precision": precision, "cosine_torch_vs_trt": cosine(got_torch, got_trt),
            "cosine_trt_vs_fp32": cosine(got_trt, ref), "cosine_torch_vs_fp32": cosine(got_torch, ref)}


def native_p50(module, sample, precision: str, batches, device: str, iterations: int) -> dict[int, float]:
    """Native PyTorch in the same dtype (fp32/fp16/bf16 only), CUDA-graph replay, median ms."""
    import copy

    import torch

    from trtpipe_runner.backends.torch.timing import CudaEventTimer, capture_graph
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.timing.loop import TimingPolicy, measure

    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    if dtype is None or device == "cpu":
        return {}
    m = copy.deepcopy(module).to(device=device, dtype=dtype)
    out = {}
    with torch.inference_mode():
        for bs in batches:
            feeds = {k: (v.to(device).to(dtype) if v.is_floating_point() else v.to(device))
                     for k, v in sample(bs).items()}
            stream = torch.cuda.Stream()
            run, _ = capture_graph(lambda: m(**feeds), stream)
            timer = CudaEventTimer(run, stream, torch.device(device))
            out[bs] = float(np.median(measure(timer, TimingPolicy(10, 0.0, iterations, 1e9), CancelToken()).times_ms))
    del m
    torch.cuda.empty_cache()
    return out


# --------------------------------------------------------------------------- parts
def attempt(row: dict, what: str, fn):
    """fn(), or None with the failure noted in row["errors"]: one measurement must not lose the others."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        row.setdefault("errors", []).append(f"{what}: {type(exc).__name__}: {str(exc).strip()[:200]}")
        return None


def model_part(b: Bench, name: str, spec: dict, precisions, batches, timing_extras: bool) -> None:
    d = spec["dir"]
    model, calib, eval_data = b.put(d / "model.onnx"), b.put(d / "calib.npz"), b.put(d / "eval.npz")
    cache = b.root / "store" / f"timing-{name}"  # inside the runner's state folder, as the build requires
    for label in precisions:
        precision = built_as(label)
        variant = label != precision  # a before/after variant: TensorRT figures only
        row = {"model": name, "precision": label}
        b.doc["builds"].append(row)
        try:
            graph, lock = annotate(b, model, calib, label)
            out, wall = trt_build(b, graph, precision, lock, cache)
            row.update(build_wall_s=wall, build_s=out.metrics["build_seconds"], engine_mb=out.metrics["engine_bytes"] / 1e6,
                       realized=out.details.get("realized_counts"),
                       reasons=out.details.get("explain_summary", {}).get("reason_counts"),
                       phases={k: round(v, 3) for k, v in out.metrics.items() if k.endswith("_seconds")})
            b.log(f"{name} {label}: built in {wall:.1f} s, realized {row['realized']}, phases {row['phases']}")
            engine = out.outputs["engine"].sha256
            torch_eng = None if variant else attempt(row, "torch build", lambda: torch_engine(b, graph, precision))
            lat = {"trt": p50s(b, engine, eval_data, "tensorrt", precision, batches),
                   "torch": attempt(row, "torch p50", lambda: p50s(b, torch_eng, eval_data, "torch", precision,
                                                                    batches)) if torch_eng else None,
                   "native": None if variant else attempt(row, "native p50", lambda: native_p50(
                       spec["module"], spec["sample"], precision, batches, b.device, b.iterations))}
            for bs in batches:
                b.doc["latency"].append({"model": name, "precision": label, "batch": bs,
                                         **{f"{k}_p50_ms": (v or {}).get(bs) for k, v in lat.items()}})
            b.log(f"{name} {label}: p50 {lat}")
            if torch_eng:
                fid = attempt(row, "fidelity", lambda: fidelity_row(b, name, precision, engine, torch_eng,
                                                                    d / "eval.npz", d / "model.onnx"))
                b.doc["fidelity"].append(fid or {"model": name, "precision": precision, "error": row["errors"][-1]})
            if timing_extras and label == "fp16":
                cache_and_raw_api(b, name, graph, precision, lock, cache, wall)
        except Exception as exc:  # noqa: BLE001 - one failing cell must not lose the others' figures
            row["error"] = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
            b.log(f"{name} {label}: FAILED {row['error']}")
            traceback.print_exc()


def cache_and_raw_api(b: Bench, name: str, graph: str, precision: str, lock: list, cache: Path,
                      cold_wall: float) -> None:
    """Warm rebuild vs the cold one, and the build stage vs the raw API doing the same build."""
    from gpu_tensorrt_raw import raw_build_seconds

    out, warm_wall = trt_build(b, graph, precision, lock, cache)
    cold = next(r for r in b.doc["builds"] if r["model"] == name and r["precision"] == precision)
    b.doc["timing_cache"].append({"model": name, "precision": precision, "cold_build_s": cold["build_s"],
                                  "warm_build_s": out.metrics["build_seconds"], "cold_wall_s": cold_wall,
                                  "warm_wall_s": warm_wall, "reused": out.details["timing_cache"]["reused"]})
    cache_file = Path(out.details["timing_cache"]["path"])
    raw = raw_build_seconds(b.path(graph), cache_file.read_bytes(), max_batch=64)
    b.doc["build_wall"].append({"model": name, "precision": precision, "stage_wall_s": warm_wall,
                                "stage_build_s": out.metrics["build_seconds"], **raw,
                                "phases": {k: round(v, 3) for k, v in out.metrics.items() if k.endswith("_seconds")}})
    b.log(f"{name} {precision}: warm rebuild {warm_wall:.1f} s (cold {cold_wall:.1f} s); raw API {raw}")


def examples_part(b: Bench, precisions) -> None:
    """Fidelity of the torch evaluator to TensorRT on the shipped examples."""
    for name in EXAMPLES:
        d = REPO / "examples" / name
        model, calib = b.put(d / "model.onnx"), b.put(d / "calib.npz")
        for precision in precisions:
            try:
                graph, lock = annotate(b, model, calib, precision)
                out, wall = trt_build(b, graph, precision, lock, b.root / "store" / "timing-examples", max_batch=32)
                row = fidelity_row(b, name, precision, out.outputs["engine"].sha256, torch_engine(b, graph, precision),
                                   d / "eval.npz", d / "model.onnx")
                row["build_wall_s"] = wall
            except Exception as exc:  # noqa: BLE001
                row = {"model": name, "precision": precision, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
                traceback.print_exc()
            b.doc["fidelity"].append(row)
            b.log(f"{name} {precision}: {row}")


def environment(device: str) -> dict:
    import onnx
    import onnxruntime
    import torch

    import tensorrt

    env = {"tensorrt": tensorrt.__version__, "torch": torch.__version__, "onnx": onnx.__version__,
           "onnxruntime": onnxruntime.__version__, "device": device}
    if device != "cpu":
        p = torch.cuda.get_device_properties(0)
        env.update(gpu=p.name, compute_capability=f"{p.major}.{p.minor}")
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--parts", nargs="*", default=["resnet50", "bert", "examples"],
                    choices=["resnet50", "bert", "examples"])
    ap.add_argument("--precisions", nargs="*", default=list(PRECISIONS), choices=PRECISIONS)
    ap.add_argument("--batches", nargs="*", type=int, default=[1, 64])
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="small models (a CPU check of the script)")
    ap.add_argument("--fake-tensorrt", action="store_true",
                    help="use the project's TensorRT test double and host memory (a CPU check, no real figures)")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.fake_tensorrt:
        from gpu_tensorrt_raw import install_test_double

        install_test_double()
    import torch

    from trtpipe_runner.backends.torch.settings import set_tf32

    set_tf32(False)  # fp32 is IEEE fp32 on every side
    torch.set_grad_enabled(False)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trtpipe-trt-bench-") as tmp:
        b = Bench(Path(tmp), args.device, args.iterations, started)
        b.doc["environment"] = environment(args.device)
        models = [p for p in args.parts if p != "examples"]
        if models:
            specs = export_models(Path(tmp) / "models", args.quick, models)
            b.log("exported " + ", ".join(models))
            for name in models:
                model_part(b, name, specs[name], args.precisions, args.batches, timing_extras=name == "resnet50")
        if "examples" in args.parts:
            examples_part(b, [p for p in args.precisions if p in ("fp16", "bf16", "int8")])
        b.doc["ratios"] = [r for bs in args.batches for r in ratios(b.doc["latency"], bs)]
        b.doc["seconds"] = round(time.perf_counter() - started, 1)
    from trtpipe_runner.jsonsafe import sanitize

    (args.out / f"gpu_tensorrt-{'-'.join(args.parts)}.json").write_text(json.dumps(sanitize(b.doc), indent=1) + "\n")
    print_tables(b.doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
