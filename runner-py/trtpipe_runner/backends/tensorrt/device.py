"""The identity of the GPU a build runs on: name, compute capability, driver.

Used to key timing caches and recorded in the engine's sidecar. The CUDA
API (cuda_api.py) names the device this process actually uses (it honours
CUDA_VISIBLE_DEVICES); nvidia-smi adds the driver release ("570.86.15"),
which CUDA only reports as an API level. Without either, the identity is
"unknown" and the timing cache is still keyed by it, never shared with a
known GPU.
"""
from __future__ import annotations

from .timing_cache import TargetIdentity


def current_identity(tensorrt_version: str) -> TargetIdentity:
    """The TargetIdentity of the current CUDA device.

    Args:
        tensorrt_version: `tensorrt.__version__`.
    """
    from ...capabilities import probe_gpus
    from .cuda_api import get_cuda_api

    name, cc, driver = "unknown-gpu", "", ""
    try:
        api = get_cuda_api()
        name, (major, minor), api_version = api.device()
        cc = f"{major}.{minor}"
        driver = f"cuda-api-{api_version}"
    except Exception:  # noqa: BLE001 - no CUDA library: fall back to nvidia-smi
        api = None
    gpus = probe_gpus()
    match = [g for g in gpus if g.name == name] if api is not None else gpus[:1]
    if match:
        name, driver = match[0].name, match[0].driver_version
        cc = cc or match[0].compute_capability
    return TargetIdentity(name, cc, driver, tensorrt_version)
