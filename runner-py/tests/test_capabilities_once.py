"""GetCapabilities probes the backends once per runner: every client that connects asks, and a probe
(importing torch, creating a TensorRT Builder) takes seconds; only free disk is read each time."""
from __future__ import annotations

import sys
import threading

from trtpipe_runner import servicer as servicer_module
from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.servicer import RunnerServicer
from trtpipe_runner.stages import STAGES


def counting_probe(calls: list[int]):
    def probe_all(store_root: str) -> dict:
        calls.append(1)
        return {"runner_version": "x", "backends": [], "gpus": [], "free_disk_bytes": -1}
    return probe_all


def test_probed_once_free_disk_fresh(tmp_path, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(servicer_module, "probe_all", counting_probe(calls))
    s = RunnerServicer(ArtifactStore(tmp_path / "store"))
    first, second = s.capabilities(), s.capabilities()
    assert len(calls) == 1
    assert first["free_disk_bytes"] > 0 and second["free_disk_bytes"] > 0  # read now, not the probe's -1


def test_warm_up_probes_in_the_background(tmp_path, monkeypatch):
    calls: list[int] = []
    probed = threading.Event()
    probe = counting_probe(calls)

    def signalling(root: str) -> dict:
        out = probe(root)
        probed.set()
        return out

    monkeypatch.setattr(servicer_module, "probe_all", signalling)
    s = RunnerServicer(ArtifactStore(tmp_path / "store"))
    s.warm_up()
    assert probed.wait(10)
    s.capabilities()
    assert len(calls) == 1


def test_a_failed_probe_is_not_remembered(tmp_path, monkeypatch):
    calls: list[int] = []

    def flaky(root: str) -> dict:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("nvidia-smi hung")
        return {"backends": [], "gpus": []}

    monkeypatch.setattr(servicer_module, "probe_all", flaky)
    s = RunnerServicer(ArtifactStore(tmp_path / "store"))
    try:
        s.capabilities()
    except RuntimeError:
        pass
    assert s.capabilities()["backends"] == [] and len(calls) == 2


def test_warm_up_imports_every_stage_module(tmp_path, monkeypatch):
    """The first stage of each kind imported its module (onnx, numpy, ...: up to half a second on a
    loaded host) inside its RunStage call, where bench/scale counted it as overhead."""
    monkeypatch.setattr(servicer_module, "probe_all", counting_probe([]))
    modules = [f"trtpipe_runner.stages.{name}_stage" for name in STAGES]
    for m in modules:
        monkeypatch.delitem(sys.modules, m, raising=False)  # restored after the test
    s = RunnerServicer(ArtifactStore(tmp_path / "store"))
    s.warm_up()
    assert s.warmed.wait(60)
    assert [m for m in modules if m not in sys.modules] == []
