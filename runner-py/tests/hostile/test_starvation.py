"""Issue 13 item 7: one token holder cannot starve the runner. Streams that stall are ended after
the idle timeout (their partial uploads removed); a client over its cap of open transfers is
refused at once; meanwhile every other kind of call is served."""
from __future__ import annotations

import hashlib
import threading
import time

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.transfers import TransferLimits

from ..conftest import EXAMPLES, stage_params
from .conftest import IDLE_SECONDS, PER_CLIENT, Runner, refusal

IDLE_MESSAGE = f"PutArtifact: nothing moved for {IDLE_SECONDS:g} s, so the runner ended the stream (serve --stream-idle-seconds)"


class Staller:
    """Uploads that send `before_stall` messages and then nothing, until released."""

    def __init__(self, client):
        self.client = client
        self.release = threading.Event()

    def upload(self, before_stall: int = 1):
        data = b"x" * (3 << 20)
        sha = hashlib.sha256(data).hexdigest()

        def messages():
            sent = [pb.PutArtifactRequest(header=pb.ArtifactRef(sha256=sha, size=len(data))),
                    pb.PutArtifactRequest(chunk=data[: 1 << 20])][:before_stall]
            yield from sent
            self.release.wait(30)

        return self.client.stub.PutArtifact.future(messages(), metadata=self.client.metadata)


def wait_until(condition, seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def stalled_error(future) -> grpc.RpcError:
    err = future.exception(timeout=IDLE_SECONDS * 10)
    assert isinstance(err, grpc.RpcError)
    return err


def test_twenty_stalled_uploads_do_not_starve_other_calls(runner):
    c = runner.client
    model = c.put_file(EXAMPLES / "digits" / "model.onnx")
    staller = Staller(c)
    try:
        stalled = [staller.upload() for _ in range(20)]
        gate = runner.server.servicer.transfers
        wait_until(lambda: sum(f.done() for f in stalled) == 20 - PER_CLIENT and gate.open_count() == PER_CLIENT)
        over_cap = [f for f in stalled if f.done()]
        refused = [f.exception() for f in over_cap]
        assert {e.code() for e in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert {e.details() for e in refused} == {
            f"PutArtifact: this client already has {PER_CLIENT} transfers open, the most this runner allows one "
            "client (serve --max-transfers-per-client); wait for one to end"}
        # Everything else is served while the stalled streams hold their workers.
        caps = c.stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=c.metadata, timeout=5)
        assert caps.protocol
        assert list(c.stub.HasArtifacts(pb.HasArtifactsRequest(sha256=[model.sha256]), metadata=c.metadata,
                                        timeout=5).present) == [model.sha256]
        _, result = c.run_stage("inspect", {"model": model})
        assert result is not None
        # Then the idle timeout ends the stalled ones, and uploads work again.
        held = [f for f in stalled if f not in over_cap]
        errors = [stalled_error(f) for f in held]
        assert [(e.code(), e.details()) for e in errors] == [(grpc.StatusCode.DEADLINE_EXCEEDED, IDLE_MESSAGE)] * PER_CLIENT
        wait_until(lambda: gate.open_count() == 0)
        assert not c.put(b"after the stall").already_present
    finally:
        staller.release.set()


def test_upload_that_never_sends_its_header_is_ended(runner):
    staller = Staller(runner.client)
    try:
        err = stalled_error(staller.upload(before_stall=0))
        assert (err.code(), err.details()) == (grpc.StatusCode.DEADLINE_EXCEEDED, IDLE_MESSAGE)
        wait_until(lambda: runner.server.servicer.transfers.open_count() == 0)
    finally:
        staller.release.set()


def test_upload_stalled_mid_stream_leaves_no_partial_file(runner):
    staller = Staller(runner.client)
    try:
        err = stalled_error(staller.upload(before_stall=2))
        assert (err.code(), err.details()) == (grpc.StatusCode.DEADLINE_EXCEEDED, IDLE_MESSAGE)
        wait_until(lambda: runner.server.servicer.transfers.open_count() == 0)
    finally:
        staller.release.set()
    # (the autouse check: no put-* temporary is left in the store)


def test_download_whose_reader_stops_reading_is_ended(world):
    r = Runner(world, transfers=TransferLimits(IDLE_SECONDS, PER_CLIENT, 6))
    # A reader with a small receive window and no window growth: the runner's sends block once it stops reading.
    channel = grpc.insecure_channel(f"127.0.0.1:{r.server.port}",
                                    options=[("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 64 << 10)])
    try:
        from ..conftest import Client

        slow = Client(channel)
        data = bytes(range(256)) * (32 << 12)  # 32 MiB
        sha = r.client.put(data).artifact.sha256
        stream = slow.stub.GetArtifact(pb.GetArtifactRequest(sha256=sha), metadata=slow.metadata)
        assert next(stream).WhichOneof("part") == "header"
        gate = r.server.servicer.transfers
        wait_until(lambda: gate.open_count() == 0, IDLE_SECONDS * 10)  # ended by the runner while we did not read
        with pytest.raises(grpc.RpcError) as exc:
            for _ in stream:
                pass
        assert (exc.value.code(), exc.value.details()) == (
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"GetArtifact {sha[:12]}: nothing moved for {IDLE_SECONDS:g} s, so the runner ended the stream "
            "(serve --stream-idle-seconds)")
        assert r.client.get(sha) == data  # a reader that reads is served
    finally:
        channel.close()
        r.close()


def test_all_clients_together_are_capped_below_the_worker_count(world):
    r = Runner(world, transfers=TransferLimits(IDLE_SECONDS, per_client=10, total=2))
    staller = Staller(r.client)
    try:
        held = [staller.upload(), staller.upload()]
        wait_until(lambda: r.server.servicer.transfers.open_count() == 2)
        code, message, detail = refusal(lambda: r.client.put(b"one more"))
        assert (code, detail.code) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_TRANSFERS")
        assert message == ("PutArtifact: this runner already has 2 transfers open, the most it allows at once "
                           "(serve --workers); try again shortly")
        for f in held:
            stalled_error(f)
        wait_until(lambda: r.server.servicer.transfers.open_count() == 0)  # their partial files removed
    finally:
        staller.release.set()
        r.close()


def test_stage_params_still_checked_while_transfers_stall(runner):
    """A stage call is not a transfer: it is served (and refused for its own reasons) at any load."""
    staller = Staller(runner.client)
    try:
        held = [staller.upload() for _ in range(PER_CLIENT)]
        wait_until(lambda: runner.server.servicer.transfers.open_count() == PER_CLIENT)
        code, message, _ = refusal(lambda: runner.client.run_stage("reference", {}, stage_params.reference(), raw=True))
        assert (code, message) == (grpc.StatusCode.INVALID_ARGUMENT,
                                   "stage input 'model' is missing (got: none)")
        for f in held:
            stalled_error(f)
        wait_until(lambda: runner.server.servicer.transfers.open_count() == 0)  # their partial files removed
    finally:
        staller.release.set()
