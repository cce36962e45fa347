"""`python -m trtpipe_runner serve` as a process: port line, token requirement, SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import grpc

from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.gen import runner_pb2_grpc as pb_grpc


def _spawn(tmp_path, token="tok"):
    env = {**os.environ, "TRTPIPE_RUNNER_TOKEN": token} if token else {
        k: v for k, v in os.environ.items() if k != "TRTPIPE_RUNNER_TOKEN"}
    return subprocess.Popen([sys.executable, "-m", "trtpipe_runner", "serve", "--listen", "127.0.0.1:0",
                             "--store", str(tmp_path / "store"), "--grace", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)


def test_prints_the_port_serves_and_stops_on_sigterm(tmp_path):
    proc = _spawn(tmp_path)
    try:
        port = int(proc.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = pb_grpc.RunnerServiceStub(ch)
            caps = stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=(("authorization", "Bearer tok"),))
            assert caps.runner_version
        proc.send_signal(signal.SIGTERM)
        # A deadline against hanging, not a timing assertion (bench/cancel measures).
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_refuses_to_start_without_a_token(tmp_path):
    proc = _spawn(tmp_path, token=None)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "TRTPIPE_RUNNER_TOKEN" in err and out == ""
