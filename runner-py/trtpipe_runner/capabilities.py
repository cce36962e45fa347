"""What this runner can do, probed without side effects on the GPU."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from . import PROTOCOL, __version__
from .contract.vocabulary import LOWERED, PRECISION_INFO


@dataclass
class BackendInfo:
    name: str
    available: bool
    version: str = ""
    reason: str = ""
    precisions: list[str] = field(default_factory=list)  # computed in their own type here (native)
    wider_precisions: list[str] = field(default_factory=list)  # built, but computed in a wider type
    emulated_precisions: list[str] = field(default_factory=list)  # with numerics: emulated
    details: dict = field(default_factory=dict)  # backend-specific facts (the torch backend's GPUs)


@dataclass
class GpuInfo:
    index: int
    name: str
    compute_capability: str
    memory_bytes: int
    driver_version: str
    cuda_version: str = ""
    uuid: str = ""


def probe_onnxruntime() -> BackendInfo:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return BackendInfo("onnxruntime", False, reason=f"onnxruntime: not installed ({exc})")
    # The CPU provider computes fp16 graphs in fp32 (InsertCastTransformer) and runs our Q/DQ
    # int8/fp8 graphs as dequantize + fp32 kernels; it has no bf16 kernels for most ops (a bf16
    # build fails). `numerics: emulated` offers all four with fp32 math and rounded storage.
    return BackendInfo("onnxruntime", True, ort.__version__, precisions=["fp32"],
                       wider_precisions=[p for p in LOWERED if p != "bf16"], emulated_precisions=list(LOWERED))


def probe_tensorrt() -> BackendInfo:
    """Importing tensorrt proves nothing; backends/tensorrt/probe.py creates a Builder and reads the GPU."""
    from .backends.tensorrt.probe import probe

    return BackendInfo("tensorrt", **probe(gpus=probe_gpus))


def probe_torch() -> BackendInfo:
    """torch and the CUDA devices it sees: name, compute capability, memory, driver.

    Float precisions follow the hardware, on every GPU (the vocabulary's minimum
    compute capability: bf16 and tf32 need 8.0; torch would emulate bf16 slowly
    below). int8/fp8 are always listed: the torch backend executes Q/DQ as
    quantize-dequantize where the GPU has no int8/fp8 kernel.
    """
    try:
        import torch
    except ImportError as exc:
        return BackendInfo("torch", False, reason=f"torch: not installed ({exc})")
    details: dict = {"torch": torch.__version__, "cuda_build": torch.version.cuda or ""}
    if not torch.version.cuda:
        return BackendInfo("torch", False, torch.__version__, reason="torch: a CPU-only build (no CUDA support)",
                           details=details)
    try:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception as exc:  # noqa: BLE001 - a broken driver must not break GetCapabilities
        return BackendInfo("torch", False, torch.__version__, reason=f"torch: CUDA unusable ({exc})", details=details)
    if count == 0:
        return BackendInfo("torch", False, torch.__version__,
                           reason="torch: no CUDA device (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them)",
                           details=details)
    drivers = {g.index: g.driver_version for g in probe_gpus()}
    gpus = []
    for i in range(count):
        props = torch.cuda.get_device_properties(i)
        gpus.append({"index": i, "name": props.name, "compute_capability": f"{props.major}.{props.minor}",
                     "memory_bytes": int(props.total_memory), "driver_version": drivers.get(i, "")})
    ccs = [tuple(torch.cuda.get_device_capability(i)) for i in range(count)]
    precisions, notes = [], []
    for p, info in PRECISION_INFO.items():
        need = info.min_compute_capability
        if info.kind == "quantized" or need is None or all(cc >= need for cc in ccs):
            precisions.append(p)
        else:
            notes.append(f"{p}: needs compute capability >= {need[0]}.{need[1]} on every GPU")
    if notes:
        details["precision_notes"] = notes
    details["gpus"] = gpus
    return BackendInfo("torch", True, torch.__version__, precisions=precisions, details=details)


def probe_gpus() -> list[GpuInfo]:
    """This runner's GPUs from nvidia-smi (which needs no Python CUDA library).

    nvidia-smi lists every GPU of the host; a runner pinned with
    CUDA_VISIBLE_DEVICES (one runner per GPU, src/run/local-gpus.ts) reports
    only the ones it can use, under their host index.
    """
    return visible_gpus(_smi_gpus(), os.environ.get("CUDA_VISIBLE_DEVICES"))


def visible_gpus(gpus: list[GpuInfo], visible: str | None) -> list[GpuInfo]:
    """The GPUs CUDA_VISIBLE_DEVICES leaves visible, in its order (unset: all).

    Entries are host indices or (prefixes of) UUIDs; CUDA stops at the first
    entry it cannot resolve, and so does this.
    """
    if visible is None:
        return gpus
    out: list[GpuInfo] = []
    for entry in (e.strip() for e in visible.split(",")):
        if entry.isdigit():
            found = [g for g in gpus if g.index == int(entry)]
        else:
            found = [g for g in gpus if entry.startswith(("GPU-", "MIG-")) and g.uuid.startswith(entry)]
        if len(found) != 1:
            break
        out.append(found[0])
    return out


def _smi_gpus() -> list[GpuInfo]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        text = subprocess.run(
            [smi, "--query-gpu=index,name,compute_cap,memory.total,driver_version,uuid", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 5:
            gpus.append(GpuInfo(int(parts[0]), parts[1], parts[2], int(float(parts[3])) * 1024 * 1024, parts[4],
                                uuid=parts[5] if len(parts) > 5 else ""))
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
