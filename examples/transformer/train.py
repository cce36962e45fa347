"""Trains a small transformer encoder on the digits (each image row is a token).

Usage (needs torch and scikit-learn; CI uses the committed outputs):
    python examples/transformer/train.py

Self-attention (MatMul, Softmax), LayerNormalization and GELU are the ops that
usually decide whether a transformer survives FP16; this model has all of them
in a graph small enough to read.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common.digits_data import SEED, load_split, save_npz  # noqa: E402
from common.torch_train import WithSoftmax, accuracy, export_onnx, train_classifier  # noqa: E402

DIM, HEADS, FFN, LAYERS, TOKENS = 32, 4, 64, 2, 8


def build_model():
    import torch
    import torch.nn as nn

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(DIM, 3 * DIM)
            self.proj = nn.Linear(DIM, DIM)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, t, 3, HEADS, DIM // HEADS).permute(2, 0, 3, 1, 4)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(DIM // HEADS), dim=-1)
            return self.proj((att @ v).transpose(1, 2).reshape(b, t, DIM))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(DIM)
            self.attn = SelfAttention()
            self.ln2 = nn.LayerNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, FFN), nn.GELU(), nn.Linear(FFN, DIM))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class DigitsTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(8, DIM)
            self.pos = nn.Parameter(torch.zeros(1, TOKENS, DIM))
            self.blocks = nn.Sequential(*[Block() for _ in range(LAYERS)])
            self.norm = nn.LayerNorm(DIM)
            self.head = nn.Linear(DIM, 10)

        def forward(self, x):
            h = self.blocks(self.embed(x) + self.pos)
            return self.head(self.norm(h.mean(dim=1)))

    return DigitsTransformer()


def main() -> None:
    split = load_split()
    model = train_classifier(build_model(), split["train_x"], split["train_y"], 60, 2e-3, SEED)
    acc = accuracy(model, split["eval_x"], split["eval_y"])
    export_onnx(WithSoftmax(model), split["eval_x"][:2], HERE / "model.onnx")
    save_npz(HERE / "calib.npz", {"input": split["calib_x"]})
    save_npz(HERE / "eval.npz", {"input": split["eval_x"], "labels": split["eval_y"]})
    print(f"digits-transformer: eval top-1 {acc:.4f} on {len(split['eval_y'])} images")


if __name__ == "__main__":
    main()
