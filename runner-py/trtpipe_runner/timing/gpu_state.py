"""The state of a GPU around a measurement: clocks, temperature, power, throttle
reasons and the processes on it, through NVML (nvidia-ml-py, imported as
pynvml) where it is installed, else nvidia-smi. Without either (or without a
GPU) the state is None: nothing is guessed."""
from __future__ import annotations

import os
import shutil
import subprocess

# NVML's clocks-event (throttle) reason bits (nvml.h, nvmlClocksEventReason*).
THROTTLE_REASONS = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap", 0x8: "hw_slowdown",
    0x10: "sync_boost", 0x20: "sw_thermal_slowdown", 0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown", 0x100: "display_clock_setting",
}
# Reasons that mean the clocks were held down while it ran (idle and sync boost do not slow a busy GPU).
SLOWDOWNS = {"sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"}


def throttle_names(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_REASONS.items() if mask & bit]


def gpu_state(uuid: str | None) -> dict | None:
    """The state of the GPU with this UUID (the first GPU when None), or None when it cannot be read."""
    try:
        import pynvml
    except ImportError:
        pynvml = None
    if pynvml is not None:
        state = nvml_state(pynvml, uuid)
        if state is not None:
            return state
    return smi_state(uuid)


def nvml_state(nvml, uuid: str | None) -> dict | None:
    """Reads the state through an NVML binding module (pynvml's API)."""
    try:
        nvml.nvmlInit()
        h = nvml.nvmlDeviceGetHandleByUUID(uuid) if uuid else nvml.nvmlDeviceGetHandleByIndex(0)
    except Exception:  # noqa: BLE001 - NVMLError subclasses: no driver, unknown UUID
        return None
    state: dict = {"source": "nvml"}

    def put(key, fn, *args, convert=lambda v: v):
        try:
            state[key] = convert(fn(h, *args))
        except Exception:  # noqa: BLE001 - a field this GPU or driver does not support
            pass

    text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731 - older bindings return bytes
    put("name", nvml.nvmlDeviceGetName, convert=text)
    put("uuid", nvml.nvmlDeviceGetUUID, convert=text)
    put("sm_clock_mhz", nvml.nvmlDeviceGetClockInfo, nvml.NVML_CLOCK_SM)
    put("max_sm_clock_mhz", nvml.nvmlDeviceGetMaxClockInfo, nvml.NVML_CLOCK_SM)
    put("memory_clock_mhz", nvml.nvmlDeviceGetClockInfo, nvml.NVML_CLOCK_MEM)
    put("temperature_c", nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU)
    put("power_w", nvml.nvmlDeviceGetPowerUsage, convert=lambda mw: round(mw / 1000.0, 1))
    put("power_limit_w", nvml.nvmlDeviceGetEnforcedPowerLimit, convert=lambda mw: round(mw / 1000.0, 1))
    put("pstate", nvml.nvmlDeviceGetPerformanceState, convert=lambda p: f"P{int(p)}")
    put("utilization_pct", nvml.nvmlDeviceGetUtilizationRates, convert=lambda u: int(u.gpu))
    put("persistence_mode", nvml.nvmlDeviceGetPersistenceMode, convert=bool)
    reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        getattr(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None)
    if reasons is not None:
        put("throttle_reasons", reasons, convert=lambda m: throttle_names(int(m)))
    put("processes", nvml.nvmlDeviceGetComputeRunningProcesses,
        convert=lambda ps: [{"pid": int(p.pid), "used_memory_bytes": int(p.usedGpuMemory or 0)} for p in ps])
    return state


SMI_FIELDS = ("name", "uuid", "clocks.sm", "clocks.max.sm", "clocks.mem", "temperature.gpu", "power.draw",
              "power.limit", "pstate", "utilization.gpu", "persistence_mode", "clocks_throttle_reasons.active")


def smi_state(uuid: str | None) -> dict | None:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    target = ["--id=" + uuid] if uuid else ["--id=0"]
    try:
        row = subprocess.run([smi, *target, f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        apps = subprocess.run([smi, "--query-compute-apps=gpu_uuid,pid,used_memory", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    return parse_smi(row, apps)


def parse_smi(row: str, apps: str) -> dict | None:
    """The state from nvidia-smi's CSV (SMI_FIELDS, no header, no units) and its compute-apps list."""
    lines = [line for line in row.strip().splitlines() if line.strip()]
    if not lines:
        return None
    values = dict(zip(SMI_FIELDS, (v.strip() for v in lines[0].split(","))))
    state: dict = {"source": "nvidia-smi"}

    def num(field, key, kind=float):
        try:
            state[key] = kind(float(values[field]))
        except (KeyError, ValueError):
            pass  # "[N/A]", "[Not Supported]"

    for field, key in (("name", "name"), ("uuid", "uuid"), ("pstate", "pstate")):
        if values.get(field):
            state[key] = values[field]
    num("clocks.sm", "sm_clock_mhz", int)
    num("clocks.max.sm", "max_sm_clock_mhz", int)
    num("clocks.mem", "memory_clock_mhz", int)
    num("temperature.gpu", "temperature_c", int)
    num("power.draw", "power_w")
    num("power.limit", "power_limit_w")
    num("utilization.gpu", "utilization_pct", int)
    if values.get("persistence_mode") in ("Enabled", "Disabled"):
        state["persistence_mode"] = values["persistence_mode"] == "Enabled"
    mask = values.get("clocks_throttle_reasons.active", "")
    if mask.startswith("0x"):
        state["throttle_reasons"] = throttle_names(int(mask, 16))
    uuid = state.get("uuid")
    procs = []
    for line in apps.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and (uuid is None or parts[0] == uuid) and parts[1].isdigit():
            mib = float(parts[2]) if parts[2].replace(".", "", 1).isdigit() else 0.0
            procs.append({"pid": int(parts[1]), "used_memory_bytes": int(mib * 1024 * 1024)})
    state["processes"] = procs
    return state


def others_on_gpu(state: dict | None) -> list[int]:
    """Processes other than this one that hold the GPU (from a state's process list)."""
    me = os.getpid()
    return sorted({p["pid"] for p in (state or {}).get("processes", []) if p["pid"] != me})
