"""Bearer-token checks and the standard health service."""
from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from trtpipe_runner import PROTOCOL
from trtpipe_runner.gen import runner_pb2 as pb

from .conftest import Client


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_calls_without_the_right_token_are_refused(channel, token):
    c = Client(channel, token=token)
    with pytest.raises(grpc.RpcError) as info:
        c.stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=c.metadata)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_streaming_calls_are_refused_too(channel):
    c = Client(channel, token="nope")
    with pytest.raises(grpc.RpcError) as info:
        c.put(b"payload")
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        list(c.stub.RunStage(pb.RunStageRequest(stage="inspect"), metadata=c.metadata))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_answers_without_a_token(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    resp = stub.Check(health_pb2.HealthCheckRequest(service=""))
    assert resp.status == health_pb2.HealthCheckResponse.SERVING
    resp = stub.Check(health_pb2.HealthCheckRequest(service="trtpipe.runner.v1.RunnerService"))
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_capabilities_report_onnxruntime(client):
    caps = client.stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=client.metadata)
    assert caps.protocol == PROTOCOL
    ort = next(b for b in caps.backends if b.name == "onnxruntime")
    assert ort.available and ort.version
    # Native, computed wider, emulated: bf16 only emulated (its CPU provider has no bf16 kernels).
    assert (list(ort.precisions), list(ort.wider_precisions), list(ort.emulated_precisions)) == \
        (["fp32"], ["fp16", "int8", "fp8"], ["fp16", "bf16", "int8", "fp8"])
    trt = next(b for b in caps.backends if b.name == "tensorrt")
    if not trt.available:
        assert trt.unavailable_reason.startswith("tensorrt:")
    assert caps.free_disk_bytes > 0 and caps.cpu_count >= 1
