"""Issue 13, the class of item 3 on the runner: every file the runner opens from a path a client or
a pipeline gave is a regular file under a stated size limit, opened without blocking: a FIFO, a
device file or a folder is refused at once, never read or waited on."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb

from ..conftest import EXAMPLES, TOKEN
from .conftest import Runner, refusal

LIMIT = 1 << 20
SHA = "ab" * 32


@pytest.fixture
def local(world):
    """A runner that takes files by path (the local runner trtpipe spawns), uploads up to 1 MiB."""
    r = Runner(world, accept_paths=True, max_artifact_bytes=LIMIT)
    yield r
    r.close()


@pytest.fixture
def client_files(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """Files a client names (outside `world`, which the autouse check watches): path -> what the refusal says."""
    folder = tmp_path_factory.mktemp("client")
    os.mkfifo(folder / "fifo")
    with open(folder / "big.bin", "wb") as f:
        f.truncate(LIMIT + 1)
    return {"fifo": (str(folder / "fifo"), " is not a regular file (a FIFO)"),
            "/dev/zero": ("/dev/zero", " is not a regular file (a character device)"),
            "folder": (str(folder), " is not a regular file (a folder)"),
            "over the limit": (str(folder / "big.bin"), f" has {LIMIT + 1} bytes, over the limit of {LIMIT}"),
            "missing": (str(folder / "nothing-here"), ": cannot open it (No such file or directory)")}


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "folder", "over the limit", "missing"])
def test_import_artifact_takes_regular_files_only(local, client_files, kind):
    path, why = client_files[kind]
    ref = pb.ArtifactRef(sha256=SHA, size=10)
    started = time.monotonic()
    code, text, detail = refusal(lambda: local.client.stub.ImportArtifact(
        pb.ImportArtifactRequest(artifact=ref, path=path), metadata=local.client.metadata, timeout=10))
    assert time.monotonic() - started < 5  # refused, not read until the timeout
    assert (code, detail.code, text) == (grpc.StatusCode.INVALID_ARGUMENT, "IMPORT_UNREADABLE", f"file {path}{why}")
    assert not list((local.state / "store" / "objects").rglob(SHA))


def run_stage_cli(world, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES.parent / "runner-py"), "TRTPIPE_RUNNER_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "trtpipe_runner", "run-stage", "inspect", "--store",
                           str(world / "state" / "store"), *args], capture_output=True, text=True, env=env, timeout=60)


def test_run_stage_refuses_a_fifo_as_input_or_params(world, client_files):
    fifo = client_files["fifo"][0]
    as_input = run_stage_cli(world, "--input", f"model={fifo}")
    assert (as_input.returncode, as_input.stderr.strip()) == (
        2, f"run-stage inspect: error BAD_ARGUMENT: input file {fifo} is not a regular file (a FIFO)")
    as_params = run_stage_cli(world, "--input", f"model={EXAMPLES / 'digits' / 'model.onnx'}", "--params", f"@{fifo}")
    assert (as_params.returncode, as_params.stderr.strip()) == (
        2, f"run-stage inspect: error BAD_ARGUMENT: --params file {fifo} is not a regular file (a FIFO)")
