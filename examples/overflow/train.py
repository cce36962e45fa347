"""Trains a classifier whose intermediate activations overflow FP16.

Usage (needs torch and scikit-learn; CI uses the committed outputs):
    python examples/overflow/train.py

The model takes raw pixel values (0..16, not normalised), amplifies its hidden
features and then normalises them with a LayerNorm written out as elementary
ops (ReduceMean, Sub, Pow, Sqrt, Div), the way many exported models contain it.
In FP32 this is harmless. In FP16 the squared deviations (about 1e6 to 1e8)
exceed the largest FP16 value, 65504, so Pow yields Inf and the Div NaN or 0:
the classic "LayerNorm overflows in FP16" failure. The safety rules must find
exactly these nodes from the FP32 reference run and keep them in FP32.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common.digits_data import SEED, load_split, save_npz  # noqa: E402
from common.torch_train import WithSoftmax, accuracy, export_onnx, train_classifier  # noqa: E402

HIDDEN, GAIN = 128, 64.0


def build_model():
    import torch
    import torch.nn as nn

    class ManualLayerNorm(nn.Module):
        """LayerNorm spelled out, as in many exported graphs."""

        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))
            self.bias = nn.Parameter(torch.zeros(dim))

        def forward(self, x):
            mean = x.mean(dim=-1, keepdim=True)
            centered = x - mean
            var = centered.pow(2).mean(dim=-1, keepdim=True)
            return centered / torch.sqrt(var + 1e-5) * self.weight + self.bias

    class OverflowNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, HIDDEN)
            self.norm = ManualLayerNorm(HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, 10)

        def forward(self, x):
            h = self.fc1(x) * GAIN  # amplified features: |h| reaches the thousands
            return self.fc2(torch.relu(self.norm(h)))

    return OverflowNet()


def main() -> None:
    split = load_split()
    raw = {k: (v * 16.0).reshape(len(v), 64) for k, v in split.items() if k.endswith("_x")}
    model = train_classifier(build_model(), raw["train_x"], split["train_y"], 40, 2e-3, SEED)
    acc = accuracy(model, raw["eval_x"], split["eval_y"])
    export_onnx(WithSoftmax(model), raw["eval_x"][:2], HERE / "model.onnx")
    save_npz(HERE / "calib.npz", {"input": raw["calib_x"]})
    save_npz(HERE / "eval.npz", {"input": raw["eval_x"], "labels": split["eval_y"]})
    print(f"overflow: eval top-1 {acc:.4f} on {len(split['eval_y'])} images")


if __name__ == "__main__":
    main()
