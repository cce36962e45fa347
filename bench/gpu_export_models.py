"""Exports the real architectures the GPU benchmarks use to ONNX (random weights).

    python3 bench/gpu_export_models.py OUT_DIR [resnet50] [bert]

resnet50: torchvision ResNet-50, input `input` [batch, 3, 224, 224], dynamic batch, opset 17.
bert:     transformers BertModel (BERT-base: 12 layers, hidden 768, 12 heads), inputs input_ids /
          attention_mask / token_type_ids [batch, 128] int64, dynamic batch, opset 17; output
          last_hidden_state. Also writes calib.npz / eval.npz beside each model (random images;
          random token ids with a full attention mask) so trtpipe's stages can run on them.
Runs on CPU or GPU hosts with torch, torchvision and transformers; no network (random weights).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch


def export(module, args, path: Path, input_names, output_names, dynamic) -> None:
    module.eval()
    kwargs = dict(input_names=input_names, output_names=output_names, opset_version=17,
                  dynamic_axes={n: {0: "batch"} for n in dynamic + output_names})
    with torch.no_grad():
        try:  # the TorchScript exporter names nodes after modules (/layer1/layer1.0/conv1/Conv), like users see
            torch.onnx.export(module, args, str(path), dynamo=False, **kwargs)
        except TypeError:
            torch.onnx.export(module, args, str(path), **kwargs)


def resnet50(out: Path) -> None:
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None)
    x = torch.randn(1, 3, 224, 224)
    d = out / "resnet50"
    d.mkdir(parents=True, exist_ok=True)
    export(model, (x,), d / "model.onnx", ["input"], ["logits"], ["input"])
    rng = np.random.default_rng(0)
    for name, n in (("calib", 32), ("eval", 64)):
        np.savez(d / f"{name}.npz", input=rng.standard_normal((n, 3, 224, 224), dtype=np.float32))


def bert(out: Path, seq: int = 128) -> None:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(), add_pooling_layer=False)
    model.config.return_dict = False
    d = out / "bert"
    d.mkdir(parents=True, exist_ok=True)
    ids = torch.randint(0, 30000, (1, seq))
    ones = torch.ones(1, seq, dtype=torch.int64)
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]

    export(Encoder(model), (ids, ones, torch.zeros_like(ones)), d / "model.onnx", names, ["last_hidden_state"], names)
    rng = np.random.default_rng(0)
    for name, n in (("calib", 32), ("eval", 64)):
        np.savez(d / f"{name}.npz", input_ids=rng.integers(1000, 30000, (n, seq), dtype=np.int64),
                 attention_mask=np.ones((n, seq), np.int64), token_type_ids=np.zeros((n, seq), np.int64))


if __name__ == "__main__":
    out = Path(sys.argv[1])
    which = sys.argv[2:] or ["resnet50", "bert"]
    for name in which:
        t = time.perf_counter()
        {"resnet50": resnet50, "bert": bert}[name](out)
        print(f"exported {name} in {time.perf_counter() - t:.1f} s", flush=True)
