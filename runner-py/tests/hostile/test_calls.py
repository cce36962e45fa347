"""Hostile calls of a token holder (or not): malformed streams, digests that look like paths, stage
inputs of the wrong kind, model manifests that point outside their folder. Each is refused with its
exact status and message, and nothing outside the runner's state folder changes (conftest.py)."""
from __future__ import annotations

import json

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.model.manifest import KIND as MODEL_MANIFEST
from trtpipe_runner.model.manifest import MEDIA_TYPE

from ..conftest import EXAMPLES, Client, stage_params
from .conftest import Runner, refusal

PATHLIKE = "../../outside/secret.txt"


def put_stream(client, *messages):
    return client.stub.PutArtifact(iter(messages), metadata=client.metadata)


def header(sha: str = "ab" * 32, size: int = 4) -> pb.PutArtifactRequest:
    return pb.PutArtifactRequest(header=pb.ArtifactRef(sha256=sha, size=size))


def chunk(data: bytes) -> pb.PutArtifactRequest:
    return pb.PutArtifactRequest(chunk=data)


STREAMS = {
    "a digest that is a path": ((header(PATHLIKE), chunk(b"data")),
                                (grpc.StatusCode.INVALID_ARGUMENT, "BAD_DIGEST", f"not a sha256 hex digest: {PATHLIKE!r}")),
    "no message at all": ((), (grpc.StatusCode.INVALID_ARGUMENT, "PROTOCOL", "PutArtifact must start with a header message")),
    "a second header": ((header(), header()), (grpc.StatusCode.INVALID_ARGUMENT, "PROTOCOL",
                                               "PutArtifact: only the first message may be a header")),
    "a 2 MiB chunk": ((header(size=2 << 20), chunk(b"x" * (2 << 20))),
                      (grpc.StatusCode.INVALID_ARGUMENT, "PROTOCOL", "chunk of 2097152 bytes exceeds 1 MiB")),
    "more bytes than declared": ((header(size=4), chunk(b"12345")),
                                 (grpc.StatusCode.DATA_LOSS, "INTEGRITY", f"artifact {'ab' * 32} is larger than its "
                                                                          "declared 4 bytes")),
    "bytes that hash to something else": ((header(size=4), chunk(b"1234")),
                                          (grpc.StatusCode.DATA_LOSS, "INTEGRITY", "artifact bytes hash to 03ac674216f3e15c"
                                           f"761ee1a5e255f067953623c8b388b4459e13f978d7c846f4, not the declared {'ab' * 32}: "
                                           "the upload was corrupted in transit")),
    "a size over the runner's limit": ((header(size=(64 << 30) + 1),),
                                       (grpc.StatusCode.INVALID_ARGUMENT, "TOO_LARGE", "artifact of 68719476737 bytes exceeds "
                                        "this runner's limit of 68719476736 bytes")),
}


@pytest.mark.parametrize("case", list(STREAMS))
def test_malformed_uploads_are_refused_and_leave_nothing(runner, case):
    messages, expected = STREAMS[case]
    code, text, detail = refusal(lambda: put_stream(runner.client, *messages))
    assert (code, detail.code, text) == expected


def stage_call(runner, stage: str, inputs: dict, params: dict | None = None):
    return lambda: runner.client.run_stage(stage, inputs, params)


def test_a_stage_input_digest_that_is_a_path_is_refused(runner):
    ref = pb.ArtifactRef(sha256=PATHLIKE, size=1)
    code, text, detail = refusal(stage_call(runner, "inspect", {"model": ref}))
    assert (code, detail.code, text) == (grpc.StatusCode.INVALID_ARGUMENT, "BAD_DIGEST", f"not a sha256 hex digest: {PATHLIKE!r}")


def test_an_unknown_stage_and_an_absent_input_are_not_found(runner):
    code, text, detail = refusal(stage_call(runner, "rm", {}))
    assert (code, detail.code) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_STAGE")
    assert text.startswith("unknown stage 'rm' (this runner has: inspect, reference, ")
    absent = pb.ArtifactRef(sha256="cd" * 32, size=1)
    code, text, detail = refusal(stage_call(runner, "inspect", {"model": absent}))
    assert (code, detail.code, text) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND",
                                         f"artifact {'cd' * 32} is not on this runner; upload it first")


# transform's JSON inputs of the wrong kind: input name, bytes, message
JSON_INPUTS = {
    "ranges as a list": ("ranges", b"[1, 2]", "stage input 'ranges' must be a JSON object, got an array"),
    "ranges without absmax": ("ranges", json.dumps({"x": {"min": 0}}).encode(),
                              "stage input 'ranges' is not tensor ranges ({tensor: {\"absmax\": number}}) "
                              "(is it the output of the right stage?)"),
    "ranges nested 10000 deep": ("ranges", b"[" * 10000 + b"]" * 10000,
                                 "stage input 'ranges' nests too deeply (at most 32 levels)"),
    "search with kept a number": ("search", b'{"kept": 3}', "stage input 'search' is not a search result "
                                  "({\"kept\": [node names]}) (is it the output of the right stage?)"),
    "scales with tensors a string": ("scales", b'{"tensors": "all"}', "stage input 'scales' is not calibration scales "
                                     "({\"tensors\": {tensor: number}, \"smoothing\": {\"factors\": ...}}) "
                                     "(is it the output of the right stage?)"),
    "scales that are not UTF-8": ("scales", b'{"tensors": "\xc3\x28"}', "stage input 'scales' is not UTF-8 text "
                                  "(invalid continuation byte at byte 13)"),
}


@pytest.mark.parametrize("case", list(JSON_INPUTS))
def test_json_stage_inputs_of_the_wrong_kind_are_stage_input_errors(runner, case):
    name, data, message = JSON_INPUTS[case]
    c = runner.client
    inputs = {"model": c.put_file(EXAMPLES / "digits" / "model.onnx"), name: c.put(data).artifact}
    code, text, detail = refusal(stage_call(runner, "transform", inputs, stage_params.transform("int8")))
    assert (code, detail.kind, detail.code, text) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER,
                                                      "STAGE_INPUT_INVALID", message)


def test_a_model_manifest_naming_a_file_outside_its_folder_is_refused(runner):
    c = runner.client
    data = c.put(b"weights").artifact
    body = {"kind": MODEL_MANIFEST, "model": "model.onnx",
            "files": [{"name": "model.onnx", "sha256": data.sha256}, {"name": PATHLIKE, "sha256": data.sha256}]}
    manifest = c.put(json.dumps(body).encode()).artifact
    manifest.media_type = MEDIA_TYPE
    code, text, detail = refusal(stage_call(runner, "inspect", {"model": manifest}))
    assert (code, detail.code, text) == (grpc.StatusCode.INVALID_ARGUMENT, "MODEL_MANIFEST_INVALID",
                                         f"model manifest: file name {PATHLIKE!r} is not a plain, unique path inside the "
                                         "model's folder")


def test_import_by_path_is_refused_where_not_enabled_and_for_relative_paths(runner, world):
    ref = pb.ArtifactRef(sha256="ab" * 32, size=4)
    code, text, detail = refusal(lambda: runner.client.stub.ImportArtifact(
        pb.ImportArtifactRequest(artifact=ref, path=str(world / "outside" / "secret.txt")), metadata=runner.client.metadata))
    assert (code, detail.code) == (grpc.StatusCode.UNIMPLEMENTED, "PATHS_NOT_ACCEPTED")
    local = Runner(world, accept_paths=True)
    try:
        code, text, detail = refusal(lambda: local.client.stub.ImportArtifact(
            pb.ImportArtifactRequest(artifact=ref, path=PATHLIKE), metadata=local.client.metadata))
        assert (code, detail.code, text) == (grpc.StatusCode.INVALID_ARGUMENT, "PROTOCOL",
                                             f"ImportArtifact needs an absolute path, got {PATHLIKE!r}")
    finally:
        local.close()


def test_a_wrong_token_and_another_protocol_are_refused_before_any_work(runner):
    wrong = Client(runner.channel, token="guess")
    with pytest.raises(grpc.RpcError) as exc:
        wrong.put(b"data")
    assert (exc.value.code(), exc.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, "wrong bearer token")
    other = Client(runner.channel)
    other.metadata = tuple((k, "trtpipe.runner.v9.0" if k == "trtpipe-protocol" else v) for k, v in other.metadata)
    code, text, detail = refusal(lambda: other.put(b"data"))
    assert (code, detail.code) == (grpc.StatusCode.FAILED_PRECONDITION, "PROTOCOL_MISMATCH")
    assert not list((runner.state / "store" / "objects").rglob("*"))
