"""Issue 13 item 11, the runner's half: a plaintext bind beyond loopback is warned about; a client
cannot point timing caches outside the runner's state folder; engines with host code (TensorRT
version-compatible engines) build and load only on a runner started with --allow-engine-host-code."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import grpc
import pytest

from trtpipe_runner.cli import is_loopback
from trtpipe_runner.gen import runner_pb2 as pb

from ..backends.tensorrt.fake_tensorrt import install_fake
from ..backends.tensorrt.helpers import annotated
from ..conftest import EXAMPLES, TOKEN, stage_params
from .conftest import Runner, refusal

WARNING = ("trtpipe-runner: WARNING: listening on {} without TLS: the bearer token and every artifact cross the network "
           "in plaintext, readable by anyone on the path; give --tls-cert and --tls-key (README: Remote runners)")


def serve_stderr(world, listen: str) -> str:
    """Starts `trtpipe-runner serve --listen <listen>`, waits until it serves, stops it; returns its stderr."""
    env = {**os.environ, "TRTPIPE_RUNNER_TOKEN": TOKEN, "PYTHONPATH": str(EXAMPLES.parent / "runner-py")}
    proc = subprocess.Popen([sys.executable, "-m", "trtpipe_runner", "serve", "--listen", listen, "--store",
                             str(world / "state" / "store"), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip().isdigit()  # the bound port: serving
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_serve_warns_on_a_plaintext_bind_beyond_loopback(world):
    assert serve_stderr(world, "0.0.0.0:0").splitlines()[0] == WARNING.format("0.0.0.0:0")
    assert "WARNING" not in serve_stderr(world, "127.0.0.1:0")


@pytest.mark.parametrize("address, loopback", [("127.0.0.1:0", True), ("127.9.9.9:1", True), ("[::1]:50051", True),
                                               ("localhost:50051", True), ("0.0.0.0:50051", False),
                                               ("[::]:50051", False), ("10.0.0.7:50051", False),
                                               ("runner.internal:50051", False)])
def test_which_binds_count_as_loopback(address, loopback):
    assert is_loopback(address) is loopback


def build_json(**over) -> str:
    return json.dumps(stage_params.build(**over))


@pytest.mark.parametrize("asked", ["/tmp/trtpipe-elsewhere", "../../outside", "link-out/timing", "timing/../../.."])
def test_timing_cache_dir_outside_the_state_folder_is_refused(runner, world, asked):
    store = runner.state / "store"
    os.symlink(world / "outside", store / "link-out")
    model = runner.client.put_file(EXAMPLES / "digits" / "model.onnx")
    req = pb.RunStageRequest(stage="build", cell="hostile", inputs={"model": model},
                             params_json=build_json(timing_cache_dir=asked))
    code, text, detail = refusal(lambda: list(runner.client.stub.RunStage(req, metadata=runner.client.metadata)))
    assert (code, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, "BAD_PARAM")
    assert text == (f"params.timing_cache_dir: {asked!r} is outside this runner's state folder {store.resolve()}; give a "
                    "folder inside it (relative to it), or leave it out for the runner's own timing caches")
    assert not os.path.exists("/tmp/trtpipe-elsewhere")


def test_timing_cache_dir_inside_the_state_folder_is_taken(runner):
    model = runner.client.put_file(EXAMPLES / "digits" / "model.onnx")
    _, result = runner.client.run_stage("build", {"model": model}, {"timing_cache_dir": "timing/fp32"})
    assert result.outputs["engine"].sha256


@pytest.fixture
def fake_trt(monkeypatch):
    return install_fake(monkeypatch, "10.6.0")


def trt_build(runner, model_ref, **over):
    req = pb.RunStageRequest(stage="build", cell="hostile", inputs={"model": model_ref},
                             params_json=build_json(backend="tensorrt", precision="fp16", timing_cache_dir="timing", **over))
    return [m for m in runner.client.stub.RunStage(req, metadata=runner.client.metadata) if m.WhichOneof("event") == "result"]


def test_engines_with_host_code_need_the_runners_flag(world, fake_trt):
    model, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    plain, trusting = Runner(world), Runner(world, allow_engine_host_code=True)
    try:
        ref = plain.client.put(model.SerializeToString()).artifact
        code, text, detail = refusal(lambda: trt_build(plain, ref, version_compatible=True))
        assert (code, detail.kind, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER,
                                                    "HOST_CODE_REFUSED")
        assert text == ("a version-compatible engine runs host code embedded in the engine, which this runner refuses: "
                        "build without `version_compatible`, or start the runner with `trtpipe-runner serve "
                        "--allow-engine-host-code` (only where every token holder may run code on it)")
        # Built where the operator allowed it, the engine is still refused where they did not.
        trusting.client.put(model.SerializeToString())
        [built] = trt_build(trusting, ref, version_compatible=True)
        engine = built.result.outputs["engine"]
        plain.client.put(trusting.client.get(engine.sha256))
        data = plain.client.put_file(EXAMPLES / "digits" / "eval.npz")
        code, text, detail = refusal(lambda: plain.client.run_stage(
            "benchmark", {"engine": engine, "eval_data": data}, {"backend": "tensorrt", "warmup": 1, "iterations": 2}))
        assert (code, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, "HOST_CODE_REFUSED")
        assert text.startswith("loading a version-compatible engine runs host code embedded in the engine")
        # An engine without host code loads anywhere.
        [ordinary] = trt_build(plain, ref)
        assert ordinary.result.outputs["engine"].sha256
    finally:
        plain.close()
        trusting.close()
