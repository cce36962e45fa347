"""A runner's share of the host: its thread budget (threads.py) and the GPUs it is pinned to."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from trtpipe_runner.backends.onnxruntime.session import make_session
from trtpipe_runner.capabilities import GpuInfo, visible_gpus

HOST = [GpuInfo(0, "NVIDIA H200", "9.0", 1, "580.1", uuid="GPU-aaaa1111"),
        GpuInfo(1, "NVIDIA H200", "9.0", 1, "580.1", uuid="GPU-bbbb2222")]


def _model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _intra(session) -> int:
    return session.get_session_options().intra_op_num_threads


def test_onnxruntime_sessions_take_the_runners_thread_budget(monkeypatch):
    monkeypatch.setenv("TRTPIPE_RUNNER_THREADS", "3")
    session = make_session(_model())
    assert _intra(session) == 3
    assert np.array_equal(session.run(None, {"x": -np.ones((1, 4), np.float32)})[0], np.zeros((1, 4), np.float32))


def test_a_targets_own_threads_win_over_the_budget(monkeypatch):
    monkeypatch.setenv("TRTPIPE_RUNNER_THREADS", "3")
    assert _intra(make_session(_model(), threads=2)) == 2


def test_without_a_budget_onnxruntime_decides(monkeypatch):
    monkeypatch.delenv("TRTPIPE_RUNNER_THREADS", raising=False)
    assert _intra(make_session(_model())) == 0


def test_a_pinned_runner_reports_only_its_gpu_under_its_host_index():
    assert [g.index for g in visible_gpus(HOST, "1")] == [1]
    assert [g.index for g in visible_gpus(HOST, "GPU-bbbb")] == [1]
    assert [g.index for g in visible_gpus(HOST, "1,0")] == [1, 0]
    assert [g.index for g in visible_gpus(HOST, None)] == [0, 1]


def test_cuda_visible_devices_stops_at_the_first_entry_it_cannot_resolve():
    assert visible_gpus(HOST, "") == []
    assert visible_gpus(HOST, "-1") == []
    assert [g.index for g in visible_gpus(HOST, "0,7,1")] == [0]
