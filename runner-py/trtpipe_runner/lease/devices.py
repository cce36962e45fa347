"""Which physical devices a stage uses, named the same by every process on the host.

The host's CPU cores are one device (`cpu@<host>`): every stage uses them. A
GPU is named by its UUID (`gpu:GPU-8fa1...@<host>`), because CUDA ordinals
depend on CUDA_VISIBLE_DEVICES and differ between processes. The UUID of a
CUDA ordinal comes from PyTorch when the stage runs on torch (it knows its own
ordinals exactly), else from NVML or nvidia-smi through CUDA_VISIBLE_DEVICES
(which lists ordinals or UUIDs); NVML numbers GPUs in PCI order, as CUDA does
with CUDA_DEVICE_ORDER=PCI_BUS_ID or on hosts with one GPU model.
"""
from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

from .leases import DeviceNeed

# Backends that run on a CUDA device (torch unless its device setting is cpu).
GPU_BACKENDS = ("tensorrt", "torch")
FIRST_GPU = "cuda"  # what torch and TensorRT use when no device is named


def host() -> str:
    return platform.node() or "localhost"


def device_key(device: str) -> str:
    """The lease name of a session's device: "cpu", "cuda" or "cuda:N"."""
    if device == "cpu" or not device.startswith("cuda"):
        return f"cpu@{host()}"
    return f"gpu:{cuda_uuid(device) or _ordinal(device)}@{host()}"


def cuda_uuid(device: str) -> str | None:
    """The UUID of a CUDA device ("cuda" or "cuda:N") of this process, or None."""
    return gpu_uuid(_ordinal(device), prefer_torch="torch" in sys.modules)


def _ordinal(device: str) -> int:
    return int(device.split(":", 1)[1]) if ":" in device else 0


def stage_needs(stage: str, params: Any) -> list[DeviceNeed]:
    """The devices a stage uses for its whole run, all shared except what a TensorRT build times on.

    A benchmark is not covered here: it takes this shared set while it loads,
    then the device its session runs on exclusively (stages/benchmark_stage.py).
    """
    cpu = DeviceNeed(device_key("cpu"), False)
    gpu = _gpu_of(stage, params)
    if gpu is None:
        return [cpu]
    timing = stage == "build" and params.backend == "tensorrt"
    return [cpu, DeviceNeed(device_key(gpu), timing)]


def _gpu_of(stage: str, params: Any) -> str | None:
    """The CUDA device a stage may use, or None when it runs on the CPU only.

    Args:
        params: the stage's checked params (contract.stages); a torch build names its device,
            other GPU work runs on the first visible GPU ("cuda").
    """
    if stage == "localize":  # the low-precision side runs as the cell's build does
        return _gpu_of("build", params.build)
    if stage == "search":
        torch_evaluator = params.evaluator == "torch" or (params.evaluator == "auto" and _torch_cuda())
        return FIRST_GPU if torch_evaluator else None
    backend = getattr(params, "backend", None)
    if backend not in GPU_BACKENDS:
        return None
    device = getattr(params, "device", None) or FIRST_GPU
    if device == "cpu" or (backend == "torch" and not _torch_cuda()) or (backend == "tensorrt" and not gpu_visible()):
        return None
    return device


@functools.lru_cache(maxsize=1)
def _torch_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    try:
        return bool(torch.version.cuda) and torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - a broken driver: the stage will say so itself
        return False


def gpu_visible() -> bool:
    return bool(physical_uuids())


@functools.lru_cache(maxsize=1)
def physical_uuids() -> tuple[str, ...]:
    """The host's GPU UUIDs in NVML (PCI) order; empty without a GPU or driver."""
    return tuple(_nvml_uuids() or _smi_uuids())


def gpu_uuid(ordinal: int, prefer_torch: bool = False) -> str | None:
    """The UUID ("GPU-...") of CUDA device `ordinal` as this process sees it, or None."""
    if prefer_torch and _torch_cuda():
        import torch

        try:
            uuid = str(torch.cuda.get_device_properties(ordinal).uuid)
            return uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
        except (AttributeError, RuntimeError, AssertionError):
            pass
    return visible_uuid(ordinal, list(physical_uuids()), os.environ.get("CUDA_VISIBLE_DEVICES"))


def visible_uuid(ordinal: int, physical: list[str], visible: str | None) -> str | None:
    """Maps a CUDA ordinal to a UUID through CUDA_VISIBLE_DEVICES.

    Args:
        ordinal: the CUDA device number inside the process.
        physical: the host's GPU UUIDs by NVML index.
        visible: CUDA_VISIBLE_DEVICES ("1,0", "GPU-8fa1...", unset = all).
    """
    if visible is None or not visible.strip():
        entries = [str(i) for i in range(len(physical))]
    else:
        entries = [e.strip() for e in visible.split(",") if e.strip()]
    if ordinal >= len(entries):
        return None
    entry = entries[ordinal]
    if entry.startswith(("GPU-", "MIG-")):
        matches = [u for u in physical if u.startswith(entry)]  # CUDA accepts unique UUID prefixes
        return matches[0] if len(matches) == 1 else entry
    if entry.isdigit() and int(entry) < len(physical):
        return physical[int(entry)]
    return None


def _nvml_uuids() -> list[str]:
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            uuid = pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))
            out.append(uuid.decode() if isinstance(uuid, bytes) else str(uuid))
        return out
    except Exception:  # noqa: BLE001 - pynvml raises NVMLError subclasses; no driver means no GPU here
        return []


def _smi_uuids() -> list[str]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        text = subprocess.run([smi, "--query-gpu=uuid", "--format=csv,noheader"], capture_output=True, text=True,
                              timeout=10, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]
