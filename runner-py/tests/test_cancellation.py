"""Cancelling a RunStage call stops the stage on the runner."""
from __future__ import annotations

import json
import threading
import time

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb

from . import stage_params


def test_cancelling_a_benchmark_stops_it_promptly(client, digits, server):
    _, t = client.run_stage("transform", {"model": digits["model"]}, {"policy": {"default": "fp32"}})
    _, b = client.run_stage("build", {"model": t.outputs["model"]}, {"backend": "onnxruntime"})
    req = pb.RunStageRequest(stage="benchmark", inputs={"engine": b.outputs["engine"], "eval_data": digits["eval_data"]},
                             params_json=json.dumps(stage_params.complete("benchmark", {
                                 "batches": [1], "warmup": 0, "iterations": 10_000_000, "max_seconds": 600})))
    call = client.stub.RunStage(req, metadata=client.metadata)
    first = next(call)  # wait until the stage is running
    assert first.WhichOneof("event") in ("progress", "log")
    call.cancel()
    with pytest.raises(grpc.RpcError) as info:
        for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.CANCELLED
    # The stage thread must notice and leave no active stage behind (the
    # deadline only guards against hanging; bench/cancel measures how fast).
    deadline = time.perf_counter() + 30.0
    while time.perf_counter() < deadline and (server.servicer._active or _stage_threads()):
        time.sleep(0.02)
    assert not server.servicer._active
    assert not _stage_threads(), "stage thread still running after cancel"


def _stage_threads():
    return [t for t in threading.enumerate() if t.name.startswith("stage-") and t.is_alive()]
