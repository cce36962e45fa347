"""Small shared training and export helpers for the example models (PyTorch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def train_classifier(model, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int):
    """Trains `model` with Adam and cross-entropy on (x, y); returns it in eval mode.

    The model returns logits while training; the exported graph appends Softmax.
    """
    import torch

    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).train()
    xs = torch.from_numpy(x).to(device)
    ys = torch.from_numpy(y).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(xs), generator=gen).to(device)
        for i in range(0, len(xs), 64):
            idx = perm[i : i + 64]
            loss = torch.nn.functional.cross_entropy(model(xs[idx]), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return model.cpu().eval()


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(-1).numpy()
    return float((pred == y).mean())


class WithSoftmax:
    """Wraps a logits model so the exported graph ends in a Softmax node."""

    def __new__(cls, inner):
        import torch

        class _M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return torch.softmax(self.inner(x), dim=-1)

        return _M().eval()


def export_onnx(model, sample: np.ndarray, path: Path, opset: int = 17) -> None:
    """Exports with a dynamic batch axis, input `input`, output `probs`.

    The TorchScript exporter is used where it exists: it names nodes after the
    module path (`/features/conv1/Conv`), which is what users write rules
    against. Newer PyTorch builds fall back to the dynamo exporter.
    """
    import onnx
    import torch

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    args = (torch.from_numpy(sample),)
    kwargs = dict(
        input_names=["input"],
        output_names=["probs"],
        dynamic_axes={"input": {0: "batch"}, "probs": {0: "batch"}},
        opset_version=opset,
        do_constant_folding=True,
    )
    try:
        torch.onnx.export(model, args, str(tmp), dynamo=False, **kwargs)
    except TypeError:
        torch.onnx.export(model, args, str(tmp), **kwargs)
    m = strip_wrapper_prefix(onnx.load(str(tmp)))
    m.producer_name = "trtpipe-examples"
    m.doc_string = ""
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(tmp))
    tmp.replace(path)


def strip_wrapper_prefix(model):
    """Drops the `inner` scope WithSoftmax adds, so names read `/head/fc1/Gemm`."""
    def fix(name: str) -> str:
        if name.startswith("/inner/"):
            return name[len("/inner"):]
        return name[len("inner."):] if name.startswith("inner.") else name

    g = model.graph
    for node in g.node:
        node.name = fix(node.name)
        node.input[:] = [fix(n) for n in node.input]
        node.output[:] = [fix(n) for n in node.output]
    for coll in (g.input, g.output, g.value_info, g.initializer):
        for item in coll:
            item.name = fix(item.name)
    return model
