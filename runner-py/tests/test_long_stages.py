"""Long stages: heartbeats on a silent stage, the hold stage, the keepalive settings.

The keepalive contract itself (pings from the orchestrator's grpc-js client
against this server's ping policy) is tested from the client side:
test/runner-client/long-stages.test.ts.
"""
from __future__ import annotations

import os
import subprocess
import sys

import grpc
import pytest

from trtpipe_runner.keepalive import MIN_RECV_PING_INTERVAL, PERMIT_WITHOUT_CALLS, server_options
from trtpipe_runner.server import create_server

from .conftest import TOKEN, Client


@pytest.fixture
def fast_heartbeat_client(tmp_path, monkeypatch):
    monkeypatch.setenv("TRTPIPE_STAGE_HEARTBEAT_MS", "50")
    srv = create_server("127.0.0.1:0", TOKEN, tmp_path / "store")
    ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
    yield Client(ch)
    ch.close()
    srv.stop(0.5)


def test_a_silent_stage_streams_heartbeats_then_its_result(fast_heartbeat_client):
    events, result = fast_heartbeat_client.run_stage("hold", {}, {"seconds": 0.4})
    beats = [e.heartbeat.elapsed_seconds for e in events if e.WhichOneof("event") == "heartbeat"]
    assert len(beats) >= 3, f"{len(beats)} heartbeats in 0.4 s at one per 50 ms"
    assert beats == sorted(beats) and beats[0] > 0
    assert [e for e in events if e.WhichOneof("event") != "heartbeat"] == []
    assert result.metrics["held_seconds"] >= 0.4


@pytest.mark.parametrize("seconds", [None, 0, -1, "10", True, 10 * 24 * 3600])
def test_hold_refuses_a_bad_duration(client, seconds):
    with pytest.raises(grpc.RpcError) as info:
        client.run_stage("hold", {}, {} if seconds is None else {"seconds": seconds})
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith("params") and "seconds" in info.value.details()


def test_the_ping_policy_follows_the_clients_interval(monkeypatch):
    monkeypatch.delenv("TRTPIPE_GRPC_KEEPALIVE_MS", raising=False)
    assert dict(server_options())[MIN_RECV_PING_INTERVAL] == 10_000  # the client pings every 30 s
    assert dict(server_options())[PERMIT_WITHOUT_CALLS] == 1
    monkeypatch.setenv("TRTPIPE_GRPC_KEEPALIVE_MS", "300")
    assert dict(server_options())[MIN_RECV_PING_INTERVAL] == 100


def test_serve_refuses_a_malformed_keepalive_setting(tmp_path):
    env = {**os.environ, "TRTPIPE_RUNNER_TOKEN": "tok", "TRTPIPE_GRPC_KEEPALIVE_MS": "30s"}
    proc = subprocess.run([sys.executable, "-m", "trtpipe_runner", "serve", "--listen", "127.0.0.1:0",
                           "--store", str(tmp_path / "store")], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2
    assert "TRTPIPE_GRPC_KEEPALIVE_MS must be a whole number of milliseconds >= 1, not '30s'" in proc.stderr
