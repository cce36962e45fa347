#!/usr/bin/env python3
"""Which ONNX ops real architectures need, and whether the torch backend runs them right (issue 21).

    python3 bench/torch_model_ops.py --out /tmp/model_ops.json               # CPU, about 3-5 minutes
    python3 bench/torch_model_ops.py --device cuda --out $OUT/model_ops.json  # GPU host

Exports torchvision CNNs (ResNet-50, EfficientNet-B0, MobileNetV3-Large, ConvNeXt-Tiny), timm's
ViT-S/16 and Swin-T, and BERT-class encoders from transformers (BERT, RoBERTa, DistilBERT; two
layers, random weights: no hub) with torch.onnx, TorchScript exporter at opsets 17 and 18 (batch
axis dynamic) and the dynamo exporter at opset 18 when onnxscript is installed. For each export:
the op types it uses, whether the torch backend builds it (or the refusal), and its outputs at
batch 2 against ONNX Runtime CPU (max abs difference, relative to the output's max magnitude), how
many of its Softmax nodes were fused into attention kernels, and the fused output against `fuse: false`.
Needs torch, torchvision, timm, transformers, onnx, onnxruntime, numpy; no network.
Exit code: 0 when every export builds and matches (relative difference under --tolerance), 1 otherwise.
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import sys
import tempfile
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "runner-py"))

import numpy as np  # noqa: E402


def vision_models():
    import torchvision.models as tv

    yield "resnet50", tv.resnet50, "tv"
    yield "efficientnet_b0", tv.efficientnet_b0, "tv"
    yield "mobilenet_v3_large", tv.mobilenet_v3_large, "tv"
    yield "convnext_tiny", tv.convnext_tiny, "tv"
    yield "vit_small_patch16_224", "vit_small_patch16_224", "timm"
    yield "swin_tiny_patch4_window7_224", "swin_tiny_patch4_window7_224", "timm"


def encoder(kind: str):
    """A two-layer encoder of the given transformers family returning last_hidden_state (random weights)."""
    import torch
    import transformers as tf

    config_cls, model_cls = {"bert": (tf.BertConfig, tf.BertModel), "roberta": (tf.RobertaConfig, tf.RobertaModel),
                             "distilbert": (tf.DistilBertConfig, tf.DistilBertModel)}[kind]
    layers = {"n_layers": 2} if kind == "distilbert" else {"num_hidden_layers": 2}
    model = model_cls(config_cls(**layers))

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return Encoder()


def cases(only: str | None):
    import torch

    for name, ctor, source in vision_models():
        if only and only not in name:
            continue

        def build(ctor=ctor, source=source):
            if source == "timm":
                import timm

                return timm.create_model(ctor, pretrained=False)
            return ctor(weights=None)
        yield name, build, (torch.randn(1, 3, 224, 224),), ["image"], \
            lambda b: {"image": np.random.default_rng(0).standard_normal((b, 3, 224, 224)).astype(np.float32)}
    for kind in ("bert", "roberta", "distilbert"):
        if only and only not in kind:
            continue
        ids = torch.randint(5, 1000, (1, 16))
        yield kind, lambda kind=kind: encoder(kind), (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"], \
            lambda b: {"input_ids": np.random.default_rng(0).integers(5, 1000, (b, 16)).astype(np.int64),
                       "attention_mask": np.concatenate([np.ones((b, 12), np.int64), np.zeros((b, 4), np.int64)], 1)}


def export(module, example, names, path: Path, exporter: str, opset: int) -> None:
    import torch

    quiet = io.StringIO()
    with redirect_stdout(quiet), redirect_stderr(quiet), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            torch.onnx.export(module, example, str(path), dynamo=False, opset_version=opset, input_names=names,
                              output_names=["out"], dynamic_axes={n: {0: "batch"} for n in names + ["out"]})
        else:
            program = torch.onnx.export(module, example, dynamo=True, opset_version=opset, input_names=names,
                                        output_names=["out"])
            program.save(str(path), external_data=False)


def check(path: Path, feeds: dict, device: str) -> dict:
    import onnx
    import onnxruntime as ort

    from trtpipe_runner.backends.torch.backend import TorchBackend
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.errors import UserError

    model = onnx.load(str(path))
    ops = collections.Counter(n.op_type for n in model.graph.node)
    row = {"ops": dict(sorted(ops.items())), "built": False}
    backend = TorchBackend()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            built = backend.build(path, Path(tmp), {"device": device}, CancelToken())
        except UserError as exc:
            row["refused"] = exc.message
            return row
        row["built"] = True
        row["fused_attention"] = built.details["conversion"]["fused_attention"]
        row["softmax"] = ops.get("Softmax", 0)
        session = backend.load(built.engine, {"device": device})
        feeds = {i.name: feeds[i.name] for i in model.graph.input if i.name in feeds}
        ours = session.run(feeds)[session.output_names()[0]].astype(np.float64)
        unfused = backend.load(built.engine, {"device": device, "fuse": False}).run(feeds)
        row["fused_vs_unfused_max_abs"] = float(np.abs(ours - unfused[session.output_names()[0]]).max())
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    ref = ref.astype(np.float64)
    diff = float(np.abs(ours - ref).max()) if ours.shape == ref.shape else float("inf")
    row.update(max_abs=diff, rel=diff / max(float(np.abs(ref).max()), 1e-30), shape=list(ours.shape))
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", help="only models whose name contains this")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="relative difference counted as a match (fp32)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    import torch

    try:
        import onnxscript  # noqa: F401
        exporters = [("torchscript", 17), ("torchscript", 18), ("dynamo", 18)]
    except ImportError:
        exporters = [("torchscript", 17), ("torchscript", 18)]
        print("onnxscript is not installed: the dynamo exporter is skipped")
    torch.manual_seed(0)
    rows, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, build, example, names, feeds_for in cases(args.only):
            module = build().eval()
            for exporter, opset in exporters:
                path = Path(tmp) / f"{name}-{exporter}{opset}.onnx"
                t0 = time.perf_counter()
                row = {"model": name, "exporter": exporter, "opset": opset}
                try:
                    export(module, example, names, path, exporter, opset)
                    row.update(check(path, feeds_for(1 if exporter == "dynamo" else 2), args.device))
                except Exception as exc:  # noqa: BLE001 - an export or run failure is reported, not fatal
                    row["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
                row["seconds"] = round(time.perf_counter() - t0, 1)
                ok = row.get("built") and row.get("rel", 1.0) <= args.tolerance
                bad += not ok
                status = (f"rel diff {row['rel']:.1e}, attention fused {row['fused_attention']}/{row['softmax']} "
                          f"softmax (vs unfused: {row['fused_vs_unfused_max_abs']:.1e})" if "rel" in row
                          else row.get("refused") or row.get("error"))
                print(f"{'ok ' if ok else 'BAD'} {name:30s} {exporter:11s} opset {opset}  {status}", flush=True)
                rows.append(row)
    all_ops = sorted({op for r in rows for op in r.get("ops", {})})
    print(f"\nops used by these exports ({len(all_ops)}): {', '.join(all_ops)}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": args.device, "torch": torch.__version__, "rows": rows,
                                        "ops": all_ops}, indent=1) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
