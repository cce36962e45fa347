"""The torch backend's settings (a target's build settings plus the cell's precision)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ...errors import UnsupportedError, UserError


@dataclass
class TorchSettings:
    """device: "cuda", "cuda:N" or "cpu" (CPU only for testing: slow, and CPU fp16 kernels
    are not the GPU's). fuse: apply the pattern fusions (fusion.py). cuda_graph: time
    benchmark runs by replaying a CUDA graph (removes Python launch overhead). compile:
    compile the plan with TorchInductor (inductor.py). tf32: TF32 math for fp32
    MatMul/Conv, on only when the cell's precision is tf32."""

    device: str = "cuda"
    fuse: bool = True
    cuda_graph: bool = False
    tf32: bool = False
    compile: bool = False

    def to_json(self) -> dict:
        return asdict(self)


def _flag(settings: dict, key: str, default: bool) -> bool:
    value = settings.get(key, default)
    if not isinstance(value, bool):
        raise UserError(f"torch backend setting '{key}' must be true or false, got {value!r}", code="BAD_PARAM")
    return value


def parse_settings(settings: dict[str, Any]) -> TorchSettings:
    """Validates the settings the stages pass (unknown keys belong to other layers and are ignored)."""
    device = str(settings.get("device", "cuda"))
    if device != "cpu" and not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise UserError(f"torch backend setting 'device' must be cuda, cuda:N or cpu, got '{device}'",
                        code="BAD_PARAM")
    return TorchSettings(device, _flag(settings, "fuse", True), _flag(settings, "cuda_graph", False),
                         settings.get("precision") == "tf32", _flag(settings, "compile", False))


def require_torch():
    """The torch module, or UnsupportedError saying how to get it."""
    try:
        import torch
    except ImportError as exc:
        raise UnsupportedError(f"the torch backend needs PyTorch, which this runner cannot import ({exc}); "
                               "install a CUDA build of torch next to the runner", code="BACKEND_UNAVAILABLE") from None
    return torch


def check_device(device: str) -> None:
    """UnsupportedError (saying why and what to do) when the device cannot be used here."""
    torch = require_torch()

    if device == "cpu":
        return
    if not torch.cuda.is_available():
        raise UnsupportedError(
            f"the torch backend needs a CUDA GPU, and torch {torch.__version__} sees none here "
            f"(built for CUDA {torch.version.cuda or 'none'}); run it on a GPU runner, or set device: cpu in the "
            "target's settings to run it on the CPU for testing", code="NO_CUDA_DEVICE")
    index = int(device[5:]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise UnsupportedError(f"device {device} does not exist here ({torch.cuda.device_count()} CUDA device(s))",
                               code="NO_CUDA_DEVICE")


def set_tf32(enabled: bool) -> None:
    """TF32 for fp32 matmul and convolution: off means IEEE fp32 (the FP32 reference)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
