"""The timing protocol (warm-up until stable, iterations or the time budget), the
noise figures, and reading a GPU's state (NVML and nvidia-smi formats)."""
from __future__ import annotations

import math
import time

import pytest

from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import Cancelled
from trtpipe_runner.timing import gpu_state, host_state
from trtpipe_runner.timing.loop import MIN_TIMED, TimingPolicy, measure
from trtpipe_runner.timing.stats import repeat_cv, summarize


class SleepTimer:
    """Runs that take real time: `ms(i)` milliseconds for the i-th run (sleeping)."""

    def __init__(self, ms):
        self.ms, self.calls = ms, 0

    def run(self, n):
        out = []
        for _ in range(n):
            d = self.ms(self.calls)
            self.calls += 1
            time.sleep(d / 1000)
            out.append(d)
        return out


def test_all_iterations_run_within_the_budget():
    m = measure(SleepTimer(lambda i: 1.0), TimingPolicy(warmup=3, warmup_seconds=0.0, iterations=40), CancelToken())
    assert len(m.times_ms) == 40 and m.stopped_by == "iterations" and m.requested == 40
    assert m.warmup_iterations >= 3 and m.warmup_stable
    assert m.warmup_started_at <= m.started_at <= m.ended_at


def test_max_seconds_stops_timing_and_says_how_many_ran():
    m = measure(SleepTimer(lambda i: 20.0), TimingPolicy(warmup=2, warmup_seconds=0.0, iterations=100_000, max_seconds=0.6),
                CancelToken())
    assert m.stopped_by == "max_seconds"
    assert MIN_TIMED <= len(m.times_ms) < 100_000


def test_the_warm_up_always_finishes_even_past_the_budget():
    m = measure(SleepTimer(lambda i: 20.0), TimingPolicy(warmup=8, warmup_seconds=0.0, iterations=1000, max_seconds=0.01),
                CancelToken())
    assert m.warmup_iterations >= 8
    assert len(m.times_ms) == MIN_TIMED and m.stopped_by == "max_seconds"


def test_warm_up_continues_until_the_latency_settles():
    # A cold start: the first 40 runs are slow, then it settles at 1 ms.
    m = measure(SleepTimer(lambda i: 4.0 if i < 40 else 1.0), TimingPolicy(warmup=5, warmup_seconds=0.0, iterations=20),
                CancelToken())
    assert m.warmup_iterations > 40 and m.warmup_stable
    assert max(m.times_ms) == 1.0


def test_a_latency_that_never_settles_is_reported_unstable():
    # Latency that keeps growing ~10% per warm-up window (say, a GPU heating up): never stable.
    t0 = time.perf_counter()
    m = measure(SleepTimer(lambda i: math.exp((time.perf_counter() - t0) / 0.5)),
                TimingPolicy(warmup=1, warmup_seconds=0.05, iterations=10), CancelToken())
    assert not m.warmup_stable and m.warmup_seconds >= 0.5


def test_cancel_stops_a_measurement():
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        measure(SleepTimer(lambda i: 1.0), TimingPolicy(), cancel)


def test_noise_figures():
    s = summarize([1.0] * 50 + [1.1] * 50, 4)
    assert s["latency_p50_ms"] == pytest.approx(1.05) and s["cv"] == pytest.approx(1.4826 * 0.05 / 1.05)
    assert s["throughput_per_s"] == pytest.approx(4000 / 1.05)
    assert repeat_cv([10.0, 10.0, 10.0]) == 0.0 and repeat_cv([9.0]) == 0.0
    assert repeat_cv([9.0, 11.0]) == pytest.approx(2 ** 0.5 / 10)


def test_cpu_facts_and_other_processes_cpu_time():
    info = host_state.cpu_info()
    assert info["model"] and info["logical_cores"] >= 1
    activity = host_state.CpuActivity().start()
    sum(i * i for i in range(200_000))
    usage = activity.stop()
    if host_state.PROC_STAT.exists():
        assert usage["own_cpu_seconds"] > 0 and usage["other_cores"] >= 0 and usage["wall_seconds"] > 0


class FakeNvml:
    """A test double of the pynvml module (nvidia-ml-py), for the calls gpu_state makes:
    names and units as NVML's documentation gives them (power in milliwatts, clocks in MHz)."""

    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0

    class Proc:
        def __init__(self, pid, mem):
            self.pid, self.usedGpuMemory = pid, mem

    class Util:
        gpu, memory = 97, 40

    def nvmlInit(self): pass
    def nvmlDeviceGetHandleByUUID(self, uuid):
        if uuid != "GPU-1234":
            raise RuntimeError("NVML_ERROR_NOT_FOUND")
        return "handle"
    def nvmlDeviceGetName(self, h): return b"NVIDIA H200"  # older bindings return bytes
    def nvmlDeviceGetUUID(self, h): return "GPU-1234"
    def nvmlDeviceGetClockInfo(self, h, which): return {1: 1980, 2: 3201}[which]
    def nvmlDeviceGetMaxClockInfo(self, h, which): return 1980
    def nvmlDeviceGetTemperature(self, h, which): return 41
    def nvmlDeviceGetPowerUsage(self, h): return 312_456
    def nvmlDeviceGetEnforcedPowerLimit(self, h): return 700_000
    def nvmlDeviceGetPerformanceState(self, h): return 0
    def nvmlDeviceGetUtilizationRates(self, h): return self.Util()
    def nvmlDeviceGetPersistenceMode(self, h): return 1
    def nvmlDeviceGetCurrentClocksEventReasons(self, h): return 0x4 | 0x1
    def nvmlDeviceGetComputeRunningProcesses(self, h): return [self.Proc(4242, 1 << 30)]


def test_gpu_state_from_nvml():
    s = gpu_state.nvml_state(FakeNvml(), "GPU-1234")
    assert s == {"source": "nvml", "name": "NVIDIA H200", "uuid": "GPU-1234", "sm_clock_mhz": 1980,
                 "max_sm_clock_mhz": 1980, "memory_clock_mhz": 3201, "temperature_c": 41, "power_w": 312.5,
                 "power_limit_w": 700.0, "pstate": "P0", "utilization_pct": 97, "persistence_mode": True,
                 "throttle_reasons": ["gpu_idle", "sw_power_cap"],
                 "processes": [{"pid": 4242, "used_memory_bytes": 1 << 30}]}
    assert gpu_state.nvml_state(FakeNvml(), "GPU-other") is None
    assert gpu_state.others_on_gpu(s) == [4242]


def test_gpu_state_from_nvidia_smi_csv():
    # nvidia-smi --query-gpu=<SMI_FIELDS> --format=csv,noheader,nounits, and --query-compute-apps.
    row = "NVIDIA H200, GPU-1234, 1755, 1980, 3201, 45, 423.17, 700.00, P0, 100, Enabled, 0x0000000000000004\n"
    apps = "GPU-1234, 4242, 1024\nGPU-9999, 77, 10\n"
    s = gpu_state.parse_smi(row, apps)
    assert s["sm_clock_mhz"] == 1755 and s["power_w"] == pytest.approx(423.17) and s["pstate"] == "P0"
    assert s["throttle_reasons"] == ["sw_power_cap"] and s["persistence_mode"] is True
    assert s["processes"] == [{"pid": 4242, "used_memory_bytes": 1024 << 20}]
    assert gpu_state.parse_smi("NVIDIA T4, GPU-1, [N/A], 1590, 5000, 30, [N/A], 70.00, P8, 0, Disabled, 0x1", "")[
        "throttle_reasons"] == ["gpu_idle"]
    assert gpu_state.parse_smi("", "") is None
