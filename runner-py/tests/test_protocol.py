"""The protocol check at connection: clients of another major version are refused, naming both."""
from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from trtpipe_runner import PROTOCOL, __version__
from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.gen.runner_pb2_grpc import RunnerServiceStub
from trtpipe_runner.protocol import CLIENT_VERSION_KEY, METADATA_KEY, parse, refusal

from .conftest import TOKEN, error_detail


def _metadata(protocol: str | None, client_version: str | None = None):
    md = [("authorization", f"Bearer {TOKEN}")]
    if protocol is not None:
        md.append((METADATA_KEY, protocol))
    if client_version is not None:
        md.append((CLIENT_VERSION_KEY, client_version))
    return tuple(md)


@pytest.mark.parametrize("protocol", [PROTOCOL, "trtpipe.runner.v1.7", None])
def test_clients_of_the_same_major_and_silent_ones_are_served(channel, protocol):
    stub = RunnerServiceStub(channel)
    caps = stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=_metadata(protocol))
    assert caps.protocol == PROTOCOL and caps.runner_version == __version__


@pytest.mark.parametrize("protocol", ["trtpipe.runner.v2.0", "trtpipe.runner.v0.9", "trtpipe.runner.v1", "garbage"])
def test_clients_of_another_major_are_refused_naming_both_versions(channel, protocol):
    stub = RunnerServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=_metadata(protocol, "9.9.9"))
    err = info.value
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    for part in (protocol, PROTOCOL, "trtpipe 9.9.9", f"trtpipe-runner {__version__}"):
        assert part in err.details()
    detail = error_detail(err)
    assert detail.code == "PROTOCOL_MISMATCH" and detail.kind == pb.ERROR_KIND_USER
    # Streaming calls are refused the same way, before any stage starts.
    with pytest.raises(grpc.RpcError) as info:
        list(stub.RunStage(pb.RunStageRequest(stage="inspect"), metadata=_metadata(protocol)))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_the_token_is_checked_before_the_protocol(channel):
    with pytest.raises(grpc.RpcError) as info:
        RunnerServiceStub(channel).GetCapabilities(pb.GetCapabilitiesRequest(), metadata=((METADATA_KEY, "trtpipe.runner.v2.0"),))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_parse_and_refusal():
    assert parse("trtpipe.runner.v1.0") == (1, 0) and parse("trtpipe.runner.v12.3") == (12, 3)
    assert parse("trtpipe.runner.v1") is None and parse("v1.0") is None
    assert refusal(PROTOCOL) is None
    assert "the client speaks trtpipe.runner.v2.0" in refusal("trtpipe.runner.v2.0")


def test_a_health_only_listener_serves_health_in_plaintext_and_nothing_else(tmp_path):
    from trtpipe_runner.server import SERVICE_NAME, create_server

    srv = create_server("127.0.0.1:0", TOKEN, tmp_path / "store", health_address="127.0.0.1:0")
    try:
        assert srv.health_port and srv.health_port != srv.port
        with grpc.insecure_channel(f"127.0.0.1:{srv.health_port}") as ch:
            health = health_pb2_grpc.HealthStub(ch)
            for service in ("", SERVICE_NAME):
                serving = health_pb2.HealthCheckResponse.SERVING
                assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == serving
            with pytest.raises(grpc.RpcError) as info:
                RunnerServiceStub(ch).GetCapabilities(pb.GetCapabilitiesRequest(), metadata=_metadata(PROTOCOL))
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
            # A stopping runner says so on the probe port too (shared health state).
            srv.health.enter_graceful_shutdown()
            assert health.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        srv.stop(0.5)
