"""Artifact upload/download over a real gRPC channel."""
from __future__ import annotations

import hashlib
import os

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb

from .conftest import error_detail


def test_upload_then_download_roundtrip(client, server):
    data = os.urandom(3 * (1 << 20) + 12345)  # several chunks and a partial one
    sha = hashlib.sha256(data).hexdigest()
    resp = client.put(data)
    assert resp.artifact.sha256 == sha and not resp.already_present
    assert server.servicer.store.has(sha)
    assert client.get(sha) == data


def test_second_upload_is_reported_present(client):
    data = b"same bytes twice"
    client.put(data)
    assert client.put(data).already_present


def test_has_artifacts_returns_the_present_subset(client):
    present = client.put(b"present").artifact.sha256
    absent = hashlib.sha256(b"absent").hexdigest()
    resp = client.stub.HasArtifacts(pb.HasArtifactsRequest(sha256=[present, absent]), metadata=client.metadata)
    assert list(resp.present) == [present]


def test_corrupted_chunk_is_rejected_and_not_stored(client, server):
    data = os.urandom(2 * (1 << 20))
    sha = hashlib.sha256(data).hexdigest()
    corrupted = bytearray(data)
    corrupted[1_500_000] ^= 0xFF  # one flipped byte in the second chunk
    chunks = [bytes(corrupted[: 1 << 20]), bytes(corrupted[1 << 20:])]
    with pytest.raises(grpc.RpcError) as info:
        client.put(data, sha=sha, chunks=chunks)
    assert info.value.code() == grpc.StatusCode.DATA_LOSS
    assert error_detail(info.value).code == "INTEGRITY"
    assert not server.servicer.store.has(sha)
    assert list((server.servicer.store.tmp_dir).iterdir()) == []  # no temporary left behind


def test_wrong_size_is_rejected(client):
    data = b"x" * 100
    sha = hashlib.sha256(data).hexdigest()

    def gen():
        yield pb.PutArtifactRequest(header=pb.ArtifactRef(sha256=sha, size=50))
        yield pb.PutArtifactRequest(chunk=data)

    with pytest.raises(grpc.RpcError) as info:
        client.stub.PutArtifact(gen(), metadata=client.metadata)
    assert info.value.code() == grpc.StatusCode.DATA_LOSS


@pytest.mark.parametrize("digest", ["../../etc/passwd", "A" * 64, "abc", "0" * 63 + "/"])
def test_digests_that_are_not_hex_sha256_never_touch_the_filesystem(client, digest):
    with pytest.raises(grpc.RpcError) as info:
        list(client.stub.GetArtifact(pb.GetArtifactRequest(sha256=digest), metadata=client.metadata))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_detail(info.value).code == "BAD_DIGEST"


def test_missing_artifact_is_not_found(client):
    with pytest.raises(grpc.RpcError) as info:
        list(client.stub.GetArtifact(pb.GetArtifactRequest(sha256="0" * 64), metadata=client.metadata))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_header_must_come_first(client):
    def gen():
        yield pb.PutArtifactRequest(chunk=b"data without a header")

    with pytest.raises(grpc.RpcError) as info:
        client.stub.PutArtifact(gen(), metadata=client.metadata)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_detail(info.value).code == "PROTOCOL"


def test_a_blob_hashed_on_its_way_in_is_not_read_again_on_first_use(tmp_path, monkeypatch):
    from trtpipe_runner import artifacts

    store = artifacts.ArtifactStore(tmp_path / "store")
    source = tmp_path / "blob.bin"
    source.write_bytes(b"model bytes" * 1000)
    uploaded = store.writer()
    uploaded.write(b"uploaded bytes")
    shas = [uploaded.commit(), store.import_file(source)]
    reads = []
    monkeypatch.setattr(artifacts, "sha256_file", lambda p: reads.append(p) or "0" * 64)
    for sha in shas:
        store.require(sha)
    assert reads == []
    # A blob changed after it was stored is read (and found wrong) again.
    store.path(shas[1]).write_bytes(b"changed")
    with pytest.raises(artifacts.IntegrityError):
        store.require(shas[1])
    assert reads == [store.path(shas[1])]
