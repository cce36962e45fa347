"""Hostile clients against a real runner on 127.0.0.1:0, each test checking that nothing outside
the runner's state folder changed.

`world` is a folder holding the runner's state folder (`state/`, its --store) and things a hostile
client would like to touch (`outside/`: a file, a folder, a symlink back into it). Every test of
this folder ends by comparing everything in `world` outside `state/` with what was there before,
and by checking that the store kept no partial upload.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.server import create_server
from trtpipe_runner.transfers import TransferLimits

from ..conftest import TOKEN, Client, error_detail

# Short enough for tests; the runner's defaults are 60 s and 8 (transfers.py).
IDLE_SECONDS = 0.6
PER_CLIENT = 3
WORKERS = 10


@pytest.fixture
def world(tmp_path) -> Path:
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.txt").write_text("do not touch\n")
    (outside / "folder" / "model.onnx").write_bytes(b"\x08\x07" * 64)
    (tmp_path / "state").mkdir()
    os.symlink(outside, tmp_path / "state" / "link-out")  # a way out a path check must not follow
    return tmp_path


def snapshot(root: Path, skip: Path) -> dict[str, tuple]:
    """Every entry under `root` but `skip`: kind, size, mtime and content hash (links: their target)."""
    seen: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == skip or skip in here.parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = here / name
            st = p.lstat()
            if p.is_symlink():
                seen[str(p.relative_to(root))] = ("link", os.readlink(p))
            elif p.is_file():
                seen[str(p.relative_to(root))] = ("file", st.st_size, st.st_mtime_ns,
                                                  hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                seen[str(p.relative_to(root))] = ("dir", st.st_mode)
    return seen


@pytest.fixture(autouse=True)
def untouched(request):
    """After the test: nothing outside state/ changed and the store holds no partial upload."""
    if "world" not in request.fixturenames:
        yield
        return
    world = request.getfixturevalue("world")
    state = world / "state"
    before = snapshot(world, state)
    yield
    assert snapshot(world, state) == before, "something outside the runner's state folder changed"
    leftovers = [p.name for p in (state / "store" / "tmp").glob("*/put-*")] if (state / "store").exists() else []
    assert not leftovers, f"partial uploads left in the store: {leftovers}"


class Runner:
    """A started server and a client for it."""

    def __init__(self, world: Path, **options):
        self.state = world / "state"
        self.server = create_server("127.0.0.1:0", TOKEN, self.state / "store", max_workers=WORKERS, **options)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.server.port}",
                                             options=[("grpc.max_receive_message_length", 16 << 20),
                                                      ("grpc.max_send_message_length", 16 << 20)])
        self.client = Client(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.server.stop(0.2)


@pytest.fixture
def runner(world):
    r = Runner(world, transfers=TransferLimits(IDLE_SECONDS, PER_CLIENT, WORKERS - 4))
    yield r
    r.close()


def refusal(call) -> tuple[grpc.StatusCode, str, pb.ErrorDetail]:
    """Runs `call`, which must fail; returns its status, message and structured detail."""
    with pytest.raises(grpc.RpcError) as exc:
        call()
    err = exc.value
    return err.code(), err.details(), error_detail(err)
