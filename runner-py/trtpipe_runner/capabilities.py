"""What this runner can do, probed without side effects on the GPU."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from . import PROTOCOL, __version__


@dataclass
class BackendInfo:
    name: str
    available: bool
    version: str = ""
    reason: str = ""
    precisions: list[str] = field(default_factory=list)


@dataclass
class GpuInfo:
    index: int
    name: str
    compute_capability: str
    memory_bytes: int
    driver_version: str
    cuda_version: str = ""


def probe_onnxruntime() -> BackendInfo:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return BackendInfo("onnxruntime", False, reason=f"onnxruntime: not installed ({exc})")
    return BackendInfo("onnxruntime", True, ort.__version__,
                       precisions=["fp32", "fp16", "bf16", "int8", "fp8"])


def probe_tensorrt() -> BackendInfo:
    """Importing tensorrt proves nothing; backends/tensorrt/probe.py creates a Builder and reads the GPU."""
    from .backends.tensorrt.probe import probe

    return BackendInfo("tensorrt", **probe(gpus=probe_gpus))


def probe_torch() -> BackendInfo:
    try:
        import torch
    except ImportError:
        return BackendInfo("torch", False, reason="torch: not installed")
    if not torch.cuda.is_available():
        return BackendInfo("torch", False, torch.__version__, reason="torch: no CUDA device")
    return BackendInfo("torch", True, torch.__version__, precisions=["fp32", "tf32", "fp16", "bf16", "int8", "fp8"])


def probe_gpus() -> list[GpuInfo]:
    """GPUs from nvidia-smi, which needs no Python CUDA library."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        text = subprocess.run(
            [smi, "--query-gpu=index,name,compute_cap,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 5:
            gpus.append(GpuInfo(int(parts[0]), parts[1], parts[2], int(float(parts[3])) * 1024 * 1024, parts[4]))
    return gpus


def probe_all(store_root: str, backends: tuple[str, ...] = ("onnxruntime", "tensorrt", "torch")) -> dict:
    """Everything GetCapabilities returns, as plain data."""
    probes = {"onnxruntime": probe_onnxruntime, "tensorrt": probe_tensorrt, "torch": probe_torch}
    versions = {"python": platform.python_version()}
    for mod in ("numpy", "onnx", "onnxruntime", "grpc"):
        m = sys.modules.get(mod)
        try:
            m = m or __import__(mod)
            versions[mod] = getattr(m, "__version__", "")
        except ImportError:
            pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        mem = 0
    return {
        "runner_version": __version__,
        "protocol": PROTOCOL,
        "backends": [probes[b]() for b in backends],
        "gpus": probe_gpus(),
        "versions": versions,
        "hostname": platform.node(),
        "cpu_count": os.cpu_count() or 0,
        "free_disk_bytes": shutil.disk_usage(store_root).free,
        "memory_bytes": mem,
    }
