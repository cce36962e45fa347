"""The host CPU a measurement ran on: model, cores, frequency governor, and how
much CPU time other processes used while it ran (read from /proc where it
exists; missing facts are left out rather than guessed)."""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")
CPU_SYSFS = Path("/sys/devices/system/cpu")


def cpu_info() -> dict:
    """Model, logical and usable cores, governor(s), mean current MHz, 1-minute load average."""
    info: dict = {"model": _cpu_model(), "logical_cores": os.cpu_count() or 0}
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if usable:
        info["usable_cores"] = len(usable)
    governors = {g for c in usable if (g := _read(CPU_SYSFS / f"cpu{c}/cpufreq/scaling_governor"))}
    if governors:
        info["governor"] = "/".join(sorted(governors))
    khz = [float(f) for c in usable if (f := _read(CPU_SYSFS / f"cpu{c}/cpufreq/scaling_cur_freq"))]
    if khz:
        info["mhz"] = round(sum(khz) / len(khz) / 1000.0)
    try:
        info["load_average_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


def _cpu_model() -> str:
    text = _read(Path("/proc/cpuinfo")) or ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _busy_ticks() -> tuple[int, int] | None:
    """(busy ticks, steal ticks) of all CPUs from /proc/stat; None where there is no /proc."""
    text = _read(PROC_STAT)
    if not text:
        return None
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


class CpuActivity:
    """CPU time other processes on this host used between `start()` and `stop()`.

    Busy time of every CPU (/proc/stat) minus this process's own CPU time; the
    hypervisor's steal time is reported apart. A quiet machine shows well under
    0.1 cores of others; anything near a core means the timing loop shared
    its CPUs.
    """

    def __init__(self) -> None:
        self._t0 = self._busy0 = self._own0 = None

    def start(self) -> CpuActivity:
        self._busy0 = _busy_ticks()
        self._own0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def stop(self) -> dict:
        busy1, own1, t1 = _busy_ticks(), time.process_time(), time.perf_counter()
        if self._busy0 is None or busy1 is None:
            return {}
        hz = os.sysconf("SC_CLK_TCK")
        busy = (busy1[0] - self._busy0[0]) / hz
        steal = (busy1[1] - self._busy0[1]) / hz
        own = own1 - self._own0
        wall = max(t1 - self._t0, 1e-9)
        other = max(0.0, busy - own)
        return {"other_cpu_seconds": round(other, 3), "other_cores": round(other / wall, 3),
                "steal_seconds": round(steal, 3), "own_cpu_seconds": round(own, 3), "wall_seconds": round(wall, 3)}
