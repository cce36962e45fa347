"""Running the FP32 model with chosen intermediate tensors exposed as outputs.

Two places can compute: ONNX Runtime on the CPU (everywhere), or trtpipe's
torch backend on a CUDA GPU (a runner with torch and a GPU), where the exposed
tensors stay on the device so the statistics (ops.py) are computed there too.
TF32 is off on the GPU: calibration observes the IEEE FP32 model.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from ..cancel import CancelToken
from ..errors import UserError
from ..model.external import beside, has_external_data
from .ops import NumpyOps, TorchOps

DEVICES = ("auto", "cpu", "cuda")


def pick_device(requested: str = "auto") -> str:
    """The device to calibrate on: "cpu", or "cuda[:N]" where torch sees that GPU.

    "auto" takes the first CUDA GPU when torch can use one, else the CPU.
    """
    requested = requested or "auto"
    if requested == "cpu":
        return "cpu"
    if requested != "auto" and not (requested == "cuda" or (requested.startswith("cuda:") and requested[5:].isdigit())):
        raise UserError(f"calibration device must be auto, cpu, cuda or cuda:N, got '{requested}'", code="BAD_PARAM")
    try:
        import torch
    except ImportError:
        if requested == "auto":
            return "cpu"
        raise UserError(f"calibration on {requested} needs PyTorch, which this runner cannot import",
                        code="BACKEND_UNAVAILABLE") from None
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    from ..backends.torch.settings import check_device

    check_device(requested)
    return requested


def expose(model: onnx.ModelProto, tensors: list[str]) -> onnx.ModelProto:
    """A copy of `model` whose outputs are `tensors` (graph inputs among them are fed back as they are)."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inputs = {i.name for i in probe.graph.input}
    del probe.graph.output[:]
    for t in tensors:
        if t not in inputs:
            probe.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    return probe


class Observer:
    """Runs feeds through the model and returns the observed tensors of each batch.

    Args:
        model: the FP32 model.
        tensors: the tensors to observe (graph inputs allowed).
        device: "cpu" (ONNX Runtime) or "cuda[:N]" (torch backend).
        cancel: stops a running ONNX Runtime batch too.
        engine: "onnxruntime" or "torch"; default: ONNX Runtime on the CPU, torch on a GPU
            (torch on the CPU is for testing the GPU path where there is no GPU).
        model_path: the file `model` was loaded from, where its external data files (if any)
            are found.
    """

    def __init__(self, model: onnx.ModelProto, tensors: list[str], device: str, cancel: CancelToken,
                 engine: str | None = None, model_path: Path | None = None):
        self.tensors = list(tensors)
        self.device = device
        self.engine = engine or ("onnxruntime" if device == "cpu" else "torch")
        self._cancel = cancel
        self.fallback = ""  # why the default GPU engine was not used, if it was not
        probe = expose(model, tensors)
        self._fed = [t for t in tensors if t in {i.name for i in model.graph.input}]
        self._outputs = [o.name for o in probe.graph.output]
        if self.engine == "torch":
            try:
                from ..backends.torch.program import Program
                from ..backends.torch.settings import set_tf32

                set_tf32(False)
                if model_path is not None and has_external_data(probe):
                    from onnx.external_data_helper import load_external_data_for_model

                    load_external_data_for_model(probe, str(Path(model_path).parent))
                self._program = Program(probe, device, fuse_patterns=False)
                self.ops = TorchOps(device)
                return
            except UserError as exc:
                if engine is not None or exc.code != "UNSUPPORTED_OP":
                    raise
                # An op trtpipe's torch converter lacks: ONNX Runtime runs every op, on the CPU.
                self.engine, self.device, self.fallback = "onnxruntime", "cpu", exc.message
        from ..backends.onnxruntime.session import make_session

        self.ops = NumpyOps()
        # Basic optimizations only (constant folding, Conv+BatchNorm and similar exact-math fusions):
        # 2-3x faster than none (ResNet-50: 2.4 s against 6.3 s a batch of 32 on 2 cores), and an
        # observed tensor is a graph output, which no fusion removes.
        if model_path is None:
            self._session = make_session(probe.SerializeToString(), opt_level="basic")
        else:  # written next to the model while ONNX Runtime loads it, so its external data resolves
            with beside(probe, model_path, "calibrate") as source:
                self._session = make_session(source, opt_level="basic")
        import onnxruntime as ort

        self._run_options = ort.RunOptions()
        cancel.on_cancel(lambda: setattr(self._run_options, "terminate", True))

    def run(self, feed: dict) -> dict:
        """{tensor: array} for one batch: numpy arrays on the CPU, torch tensors on the GPU."""
        self._cancel.check()
        if self.engine == "onnxruntime":
            values = self._session.run(self._outputs, feed, self._run_options)
            got = dict(zip(self._outputs, values))
            got.update({t: feed[t] for t in self._fed})
            return got
        import torch

        from ..backends.torch.dtypes import from_numpy

        feeds = [from_numpy(feed[n]).to(self.device) for n in self._program.input_names]
        with torch.inference_mode():
            outs = self._program.run(feeds)
        got = dict(zip(self._outputs, outs))
        got.update({t: feeds[self._program.input_names.index(t)] for t in self._fed})
        return got
