"""Device leases: shared holders coexist, an exclusive one waits for them and
keeps newcomers out, across threads and processes, cancellably."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import Cancelled, UserError
from trtpipe_runner.lease import devices
from trtpipe_runner.lease.leases import DeviceNeed, hold

from . import stage_params

CPU = "cpu@test-host"


@pytest.fixture(autouse=True)
def lease_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRTPIPE_LEASE_DIR", str(tmp_path / "leases"))
    monkeypatch.delenv("TRTPIPE_DEVICE_LEASE", raising=False)
    return tmp_path / "leases"


class Holder(threading.Thread):
    """Holds `needs` from start until `release` is set; records its events."""

    def __init__(self, name: str, exclusive: bool):
        super().__init__(daemon=True)
        self.label, self.exclusive = name, exclusive
        self.acquired, self.release, self.events = threading.Event(), threading.Event(), []
        self.cancel = CancelToken()
        self.leases = []
        self.error = None

    def run(self):
        try:
            with hold([DeviceNeed(CPU, self.exclusive)], self.label, self.cancel,
                      lambda lease: self.events.append((lease.acquired_at, list(lease.waited_for)))) as leases:
                self.leases = leases
                self.acquired.set()
                self.release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            self.error = exc


def test_shared_holders_run_side_by_side():
    a, b = Holder("evaluate@a", False), Holder("evaluate@b", False)
    a.start()
    b.start()
    assert a.acquired.wait(5) and b.acquired.wait(5)
    assert not a.events and not b.events  # neither waited
    for t in (a, b):
        t.release.set()
    for t in (a, b):
        t.join()
    assert a.leases[0].released_at >= a.leases[0].acquired_at > 0


def test_exclusive_waits_for_shared_and_holds_newcomers_back():
    reader = Holder("build@a", False)
    reader.start()
    assert reader.acquired.wait(5)
    writer = Holder("benchmark@b", True)
    writer.start()
    time.sleep(0.2)
    assert not writer.acquired.is_set()
    assert writer.events == [(0.0, ["build@a"])]  # "waiting", naming who holds the device
    late = Holder("evaluate@c", False)  # arrives after the writer queued: must not overtake it
    late.start()
    time.sleep(0.2)
    assert not late.acquired.is_set()
    assert late.events[0][1] == ["benchmark@b (exclusive, waiting)", "build@a"]
    reader.release.set()
    assert writer.acquired.wait(5)
    time.sleep(0.15)
    assert not late.acquired.is_set()  # nothing shares the device with a measurement
    writer.release.set()
    assert late.acquired.wait(5)
    late.release.set()
    for t in (reader, writer, late):
        t.join()
    w = writer.leases[0]
    assert w.exclusive and w.wait_seconds >= 0.2 and w.enforced
    assert late.leases[0].acquired_at >= w.released_at


def test_a_lease_held_by_another_process_blocks_until_it_exits(lease_dir):
    script = ("import sys, time; from pathlib import Path; from trtpipe_runner.cancel import CancelToken; "
              "from trtpipe_runner.lease.host_lock import HostLock; "
              f"l = HostLock(Path(sys.argv[1]), {CPU!r}); l.acquire(True, CancelToken(), lambda: None); "
              "print('held', flush=True); time.sleep(0.6)")
    lease_dir.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen([sys.executable, "-c", script, str(lease_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        with hold([DeviceNeed(CPU, False)], "evaluate@x", CancelToken()) as leases:
            waited = time.perf_counter() - t0
        assert waited >= 0.3 and leases[0].waited_for == ["another process"]
    finally:
        child.wait(10)


def test_cancelling_a_waiting_stage_stops_the_wait():
    writer = Holder("benchmark@a", True)
    writer.start()
    assert writer.acquired.wait(5)
    waiter = Holder("evaluate@b", False)
    waiter.start()
    time.sleep(0.1)
    waiter.cancel.cancel()
    waiter.join(2)
    assert not waiter.is_alive() and isinstance(waiter.error, Cancelled)
    writer.release.set()
    writer.join()


def test_devices_are_taken_cpu_first_and_an_exclusive_need_wins():
    with hold([DeviceNeed("gpu:GPU-1@h", True), DeviceNeed(CPU, False), DeviceNeed(CPU, True)], "b", CancelToken()) as ls:
        assert [(lease.device, lease.exclusive) for lease in ls] == [(CPU, True), ("gpu:GPU-1@h", True)]


def test_leases_off_records_without_excluding(monkeypatch):
    monkeypatch.setenv("TRTPIPE_DEVICE_LEASE", "off")
    writer = Holder("benchmark@a", True)
    writer.start()
    assert writer.acquired.wait(5)
    other = Holder("benchmark@b", True)
    other.start()
    assert other.acquired.wait(5) and not other.events
    assert not other.leases[0].enforced
    for t in (writer, other):
        t.release.set()
    for t in (writer, other):
        t.join()


@pytest.mark.parametrize("visible,ordinal,expected", [
    (None, 1, "GPU-b"),                 # all GPUs, NVML order
    ("2,0", 0, "GPU-c"),                # ordinals renumbered by CUDA_VISIBLE_DEVICES
    ("2,0", 1, "GPU-a"),
    ("GPU-b", 0, "GPU-b"),              # by UUID
    ("GPU-c", 1, None),                 # only one visible
    ("", 0, "GPU-a"),
])
def test_cuda_ordinals_map_to_uuids_through_cuda_visible_devices(visible, ordinal, expected):
    assert devices.visible_uuid(ordinal, ["GPU-a", "GPU-b", "GPU-c"], visible) == expected


def test_which_devices_a_stage_holds(monkeypatch):
    cpu = devices.device_key("cpu")
    assert devices.stage_needs("evaluate", stage_params.typed("evaluate", {"backend": "onnxruntime"})) == [DeviceNeed(cpu, False)]
    # A GPU host (the host's GPU list is the only thing faked: CI has no GPU).
    monkeypatch.setattr(devices, "physical_uuids", lambda: ("GPU-a", "GPU-b"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpu = f"gpu:GPU-a@{devices.host()}"
    trt = {"backend": "tensorrt"}
    assert devices.stage_needs("build", stage_params.typed("build", trt)) == [DeviceNeed(cpu, False), DeviceNeed(gpu, True)]
    shared = [DeviceNeed(cpu, False), DeviceNeed(gpu, False)]
    assert devices.stage_needs("evaluate", stage_params.typed("evaluate", trt)) == shared
    # A localization builds and runs the cell's engine again: the GPU of its build, shared (no timing).
    assert devices.stage_needs("localize", stage_params.typed("localize", {"build": trt})) == shared
    assert devices.stage_needs("localize", stage_params.typed("localize", {})) == [DeviceNeed(cpu, False)]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert devices.device_key("cuda:0") == f"gpu:GPU-b@{devices.host()}"


def test_an_unusable_lease_folder_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TRTPIPE_LEASE_DIR", str(blocker / "leases"))
    with pytest.raises(UserError) as err:
        with hold([DeviceNeed(CPU, False)], "evaluate@x", CancelToken()):
            pass
    assert err.value.code == "LEASE_DIR_UNUSABLE" and "TRTPIPE_LEASE_DIR" in err.value.message
