"""Trains the digits CNN and writes model.onnx, calib.npz and eval.npz here.

Usage (needs torch and scikit-learn; CI uses the committed outputs):
    python examples/digits/train.py

The network covers the ops most precision questions are about: Conv,
BatchNormalization (after the ReLU, so the exporter cannot fold it into the
Conv), Relu, MaxPool, Gemm and a final Softmax.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common.digits_data import SEED, load_split, save_npz  # noqa: E402
from common.torch_train import WithSoftmax, accuracy, export_onnx, train_classifier  # noqa: E402


def build_model():
    import torch.nn as nn

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential()
            self.features.add_module("conv1", nn.Conv2d(1, 16, 3, padding=1))
            self.features.add_module("relu1", nn.ReLU())
            self.features.add_module("bn1", nn.BatchNorm2d(16))
            self.features.add_module("conv2", nn.Conv2d(16, 32, 3, padding=1))
            self.features.add_module("relu2", nn.ReLU())
            self.features.add_module("bn2", nn.BatchNorm2d(32))
            self.features.add_module("pool", nn.MaxPool2d(2))
            self.head = nn.Sequential()
            self.head.add_module("flatten", nn.Flatten())
            self.head.add_module("fc1", nn.Linear(32 * 4 * 4, 64))
            self.head.add_module("relu", nn.ReLU())
            self.head.add_module("fc2", nn.Linear(64, 10))

        def forward(self, x):
            return self.head(self.features(x))

    return DigitsCNN()


def main() -> None:
    split = load_split()
    shape = lambda a: a[:, None, :, :]  # noqa: E731  (N, 1, 8, 8)
    model = train_classifier(build_model(), shape(split["train_x"]), split["train_y"], 40, 3e-3, SEED)
    acc = accuracy(model, shape(split["eval_x"]), split["eval_y"])
    export_onnx(WithSoftmax(model), shape(split["eval_x"][:2]), HERE / "model.onnx")
    save_npz(HERE / "calib.npz", {"input": shape(split["calib_x"])})
    save_npz(HERE / "eval.npz", {"input": shape(split["eval_x"]), "labels": split["eval_y"]})
    print(f"digits-cnn: eval top-1 {acc:.4f} on {len(split['eval_y'])} images")


if __name__ == "__main__":
    main()
