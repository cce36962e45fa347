"""Is TensorRT usable on this runner, and if not, why not.

Importing tensorrt proves only that the bindings are installed: the libs
wheel preloads its libraries and ignores load failures, and the first GPU
contact is `trt.Builder(logger)` (reference: TensorRT libs wheel
`tensorrt_libs/__init__.py`; NVIDIA/TensorRT#2913, "CUDA initialization
failure with error 35"). So the probe goes: import -> CUDA driver library
loadable -> version supported -> Builder created (a missing TensorRT library,
such as the builder resource for this GPU's architecture, is named from
TensorRT's log) -> GPU compute capability -> precisions that GPU runs fast.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Any, Callable

from ...errors import UnsupportedError
from .builder_pool import keep
from .hardware import MIN_TRT_CC, fast_precisions, parse_cc
from .loader import create_builder, make_logger
from .version import SUPPORTED_MAJORS, parse_version


def _driver_loadable() -> str:
    """"" when the CUDA driver library loads, else why not."""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(name)
        return ""
    except OSError as exc:
        return f"{name} cannot be loaded ({exc})"


def probe(gpus: Callable[[], list] | None = None, import_trt: Callable[[], Any] | None = None,
          driver_check: Callable[[], str] = _driver_loadable) -> dict:
    """Probes TensorRT; the result fills capabilities.BackendInfo.

    Args:
        gpus: returns GpuInfo-like objects (capabilities.probe_gpus).
        import_trt: imports tensorrt (replaceable in tests).
        driver_check: returns "" if the CUDA driver loads, else the reason.

    Returns:
        {"available": bool, "version": str, "reason": str, "precisions": [...]}
    """
    def result(available: bool, version: str = "", reason: str = "", precisions=None) -> dict:
        return {"available": available, "version": version, "reason": reason, "precisions": precisions or []}

    try:
        trt = (import_trt or _import)()
    except ImportError:
        return result(False, reason="tensorrt: not installed")
    version = str(getattr(trt, "__version__", ""))
    why = driver_check()
    if why:
        return result(False, version, f"tensorrt {version}: no CUDA driver: {why}")
    try:
        parsed = parse_version(version)
    except UnsupportedError:
        return result(False, version, f"tensorrt: cannot read its version '{version}'")
    if parsed.major not in SUPPORTED_MAJORS:
        return result(False, version, f"tensorrt {version}: trtpipe supports 10.x and 11.x")
    if _gpus_hidden(os.environ.get("CUDA_VISIBLE_DEVICES")):
        # A runner given no GPU (CUDA_VISIBLE_DEVICES empty, as bench/scale's CPU runners are): a Builder
        # needs a CUDA device, so do not touch TensorRT's native code for an answer known already.
        return result(False, version, f"tensorrt {version}: no GPU visible to this runner "
                      f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})")
    try:
        logger = make_logger(trt)
        # Kept for the first build, which then skips the seconds a Builder costs (builder_pool.py).
        keep(trt, create_builder(trt, logger), logger)
    except UnsupportedError as exc:
        # Names a missing TensorRT library (a builder resource for this GPU, say)
        # when the log says so, else the GPU/driver problem with TensorRT's words.
        return result(False, version, f"tensorrt {version}: {exc.message}")
    # Every GPU of the runner counts: a stage may run on any of them.
    known = [(g, cc) for g in (gpus or (lambda: []))() if (cc := parse_cc(g.compute_capability)) is not None]
    for g, cc in known:
        if cc < MIN_TRT_CC:
            return result(False, version, f"tensorrt {version}: GPU {g.name} has compute capability "
                          f"{cc[0]}.{cc[1]}; TensorRT 10.12+/11 need {MIN_TRT_CC[0]}.{MIN_TRT_CC[1]} or newer")
    each = [set(fast_precisions(cc)) for _, cc in known] or [set(fast_precisions(None))]
    return result(True, version, precisions=[p for p in fast_precisions(None) if all(p in s for s in each)])


def _gpus_hidden(visible: str | None) -> bool:
    """Whether CUDA_VISIBLE_DEVICES hides every GPU: set, and empty or starting with an invalid
    ordinal such as -1 (CUDA stops at the first entry it cannot resolve)."""
    if visible is None:
        return False
    first = visible.split(",")[0].strip()
    return first == "" or first.startswith("-")


def _import():
    import tensorrt

    return tensorrt
