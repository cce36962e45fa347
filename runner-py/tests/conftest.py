"""Shared fixtures: a real runner server on 127.0.0.1:0 and a client for it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import grpc
import pytest

from trtpipe_runner import PROTOCOL
from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.gen import runner_pb2_grpc as pb_grpc
from trtpipe_runner.protocol import METADATA_KEY

from . import stage_params
from .fixtures.models import EXAMPLES

TOKEN = "test-token-123"
CHUNK = 1 << 20


class Client:
    """A test client: the generated stub plus helpers that mirror what the TS client does."""

    def __init__(self, channel: grpc.Channel, token: str | None = TOKEN):
        self.stub = pb_grpc.RunnerServiceStub(channel)
        # As the TS client sends them: the token and the protocol it speaks (trtpipe_runner/protocol.py).
        self.metadata = ((("authorization", f"Bearer {token}"),) if token else ()) + ((METADATA_KEY, PROTOCOL),)

    def put(self, data: bytes, sha: str | None = None, chunks=None) -> pb.PutArtifactResponse:
        sha = sha or hashlib.sha256(data).hexdigest()

        def gen():
            yield pb.PutArtifactRequest(header=pb.ArtifactRef(sha256=sha, size=len(data)))
            for chunk in chunks if chunks is not None else [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]:
                yield pb.PutArtifactRequest(chunk=chunk)

        return self.stub.PutArtifact(gen(), metadata=self.metadata)

    def put_file(self, path: Path) -> pb.ArtifactRef:
        data = Path(path).read_bytes()
        return self.put(data).artifact

    def get(self, sha: str) -> bytes:
        parts = [m.chunk for m in self.stub.GetArtifact(pb.GetArtifactRequest(sha256=sha), metadata=self.metadata)
                 if m.WhichOneof("part") == "chunk"]
        return b"".join(parts)

    def run_stage(self, stage: str, inputs: dict[str, pb.ArtifactRef], params: dict | None = None, raw: bool = False):
        """Runs a stage with `params` over the full params the orchestrator sends (stage_params.py),
        or, `raw`, exactly `params`; returns (events, result)."""
        sent = (params or {}) if raw else stage_params.complete(stage, params or {})
        req = pb.RunStageRequest(stage=stage, cell="test", inputs=inputs, params_json=json.dumps(sent))
        events, result = [], None
        for msg in self.stub.RunStage(req, metadata=self.metadata):
            kind = msg.WhichOneof("event")
            if kind == "result":
                result = msg.result
            else:
                events.append(msg)
        return events, result


@pytest.fixture(autouse=True, scope="session")
def private_lease_dir(tmp_path_factory):
    """Stages in tests take their device leases in a folder of their own: other trtpipe
    runs on the same host neither wait for them nor make them wait."""
    import os

    saved = os.environ.get("TRTPIPE_LEASE_DIR")
    os.environ["TRTPIPE_LEASE_DIR"] = str(tmp_path_factory.mktemp("leases"))
    yield
    if saved is None:
        os.environ.pop("TRTPIPE_LEASE_DIR", None)
    else:
        os.environ["TRTPIPE_LEASE_DIR"] = saved


@pytest.fixture
def server(tmp_path):
    # Imported here: the server needs grpcio-health-checking, which GPU hosts running only the
    # backend tests (tests/backends/tensorrt -m gpu) may lack.
    from trtpipe_runner.server import create_server

    srv = create_server("127.0.0.1:0", TOKEN, tmp_path / "store")
    yield srv
    srv.stop(0.5)


@pytest.fixture
def channel(server):
    ch = grpc.insecure_channel(f"127.0.0.1:{server.port}",
                               options=[("grpc.max_receive_message_length", 16 << 20)])
    yield ch
    ch.close()


@pytest.fixture
def client(channel) -> Client:
    return Client(channel)


@pytest.fixture
def digits(client):
    """The digits example uploaded: model, calibration and evaluation data refs."""
    d = EXAMPLES / "digits"
    return {
        "model": client.put_file(d / "model.onnx"),
        "calib_data": client.put_file(d / "calib.npz"),
        "eval_data": client.put_file(d / "eval.npz"),
    }


def details(result) -> dict:
    return json.loads(result.details_json) if result.details_json else {}


def error_detail(err: grpc.RpcError) -> pb.ErrorDetail:
    for key, value in err.trailing_metadata() or ():
        if key == "trtpipe-error-bin":
            return pb.ErrorDetail.FromString(value)
    raise AssertionError(f"no structured error detail in {err}")
