"""Issue 13 item 9: bad data is a user error, never a trtpipe bug, and the same one whichever stage
reads it. Every data file below is refused with INVALID_ARGUMENT, a user-kind ErrorDetail and a
code starting with DATA_, by the reference stage (evaluation data) and the calibrate stage
(calibration data) alike: the orchestrator maps both to exit 2 by that code."""
from __future__ import annotations

import io
import json
import re
import zipfile

import grpc
import numpy as np
import pytest

from trtpipe_runner.data.manifest import MANIFEST_KIND
from trtpipe_runner.gen import runner_pb2 as pb

from ..conftest import EXAMPLES
from .conftest import refusal

EVAL = (EXAMPLES / "digits" / "eval.npz").read_bytes()
WHAT = {"reference": ("eval_data", "evaluation data"), "calibrate": ("calib_data", "calibration data")}


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def huge_npz() -> bytes:
    """An .npz of a few bytes whose header declares 256 TB of float32."""
    raw = npy(np.zeros((2, 1, 8, 8), np.float32)).replace(b"(2, 1, 8, 8)", b"(1000000000000, 1, 8, 8)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("input.npy", raw)
    return buf.getvalue()


def corrupt(data: bytes) -> bytes:
    b = bytearray(data)
    b[len(b) // 2] ^= 0xFF
    return bytes(b)


def manifest(body: dict | str) -> bytes:
    return (body if isinstance(body, str) else json.dumps(body)).encode()


# name -> (the data file's bytes, files of a data folder it names, the message after "<what>")
CASES = {
    "truncated npz": (EVAL[: len(EVAL) // 2], {}, ": not a readable .npz file (BadZipFile: File is not a zip file)"),
    "corrupt npz": (corrupt(EVAL), {}, ": not a readable .npz file (BadZipFile: Bad CRC-32 for file 'input.npy')"),
    "empty file": (b"", {}, ": not a readable .npz file (EOFError: No data left in file)"),
    "object array": (npz(input=np.array([{}, 1], dtype=object)), {},
                     ": not a readable .npz file (ValueError: Object arrays cannot be loaded when allow_pickle=False)"),
    "an .npy, not an .npz": (npy(np.zeros((2, 1, 8, 8), np.float32)), {},
                             ": not a readable .npz file (ValueError: it holds a single .npy array, not an .npz archive)"),
    "array larger than memory": (huge_npz(), {},
                                 ": not a readable .npz file (it declares an array larger than this runner's memory)"),
    "manifest not JSON": (manifest('{"kind": "' + MANIFEST_KIND + '", "files": [}'), {},
                          ": the data manifest is not JSON: Expecting value: line 1 column 41 (char 40)"),
    "manifest nested 100000 deep": (manifest('{"kind": "' + MANIFEST_KIND + '", "x": ' + "[" * 100000 + "]" * 100000 + "}"),
                                    {}, ": the data manifest nests too deeply (at most 32 levels)"),
    "manifest files not a list": (manifest({"kind": MANIFEST_KIND, "files": "eval.npz"}), {},
                                  ": the data manifest's files must be a list of {name, sha256}"),
    "manifest names a path, not a digest": (manifest({"kind": MANIFEST_KIND, "files": [
        {"name": "a.npz", "sha256": "../../outside/secret.txt"}]}), {},
        ": the data manifest names 'a.npz' by '../../outside/secret.txt', not a sha256"),
    "synthetic spec with a string": (manifest({"kind": MANIFEST_KIND, "synthetic": {"samples": "64"}}), {},
                                     ": the synthetic data spec needs finite numbers (seed >= 0, samples >= 1, low, high) "
                                     "and shapes as lists of integers >= 1"),
    "synthetic spec with a negative seed": (manifest({"kind": MANIFEST_KIND, "synthetic": {"seed": -1}}), {},
                                            ": the synthetic data spec needs finite numbers (seed >= 0, samples >= 1, "
                                            "low, high) and shapes as lists of integers >= 1"),
    "folder with a truncated .npy": (None, {"input.npy": npy(np.zeros((2, 1, 8, 8), np.float32))[:200]},
                                     " input.npy: not a readable .npy file (ValueError: Failed to read all data for array. "
                                     "Expected (2, 1, 8, 8) = 128 elements, could only read 18 elements. "
                                     "(file seems not fully written?))"),
    "folder of batches that do not join": (None, {"a.npz": npz(input=np.zeros((2, 1, 8, 8), np.float32)),
                                                  "b.npz": npz(input=np.zeros((2, 1, 4, 4), np.float32))},
                                           ": the files' arrays 'input' do not join along axis 0 (all the input array "
                                           "dimensions except for the concatenation axis must match exactly, but along "
                                           "dimension 2, the array at index 0 has size 8 and the array at index 1 has size 4)"),
}


def upload_data(client, data: bytes | None, files: dict[str, bytes]) -> pb.ArtifactRef:
    if data is not None:
        return client.put(data).artifact
    listed = [{"name": n, "sha256": client.put(b).artifact.sha256} for n, b in files.items()]
    return client.put(manifest({"kind": MANIFEST_KIND, "source": "data", "files": listed})).artifact


@pytest.mark.parametrize("stage", ["reference", "calibrate"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_the_same_user_error_in_every_stage(runner, case, stage):
    data, files, message = CASES[case]
    c = runner.client
    model = c.put_file(EXAMPLES / "digits" / "model.onnx")
    key, what = WHAT[stage]
    code, text, detail = refusal(lambda: c.run_stage(stage, {"model": model, key: upload_data(c, data, files)}))
    assert (code, detail.kind) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER)
    assert detail.code.startswith("DATA_") and detail.code in ("DATA_UNREADABLE", "DATA_INCONSISTENT")
    assert text == what + message


def test_synthetic_data_larger_than_memory_is_refused_before_allocating(runner):
    c = runner.client
    model = c.put_file(EXAMPLES / "digits" / "model.onnx")
    data = c.put(manifest({"kind": MANIFEST_KIND, "synthetic": {"samples": 10 ** 12}})).artifact
    code, text, detail = refusal(lambda: c.run_stage("calibrate", {"model": model, "calib_data": data}))
    assert (code, detail.kind, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER, "DATA_TOO_LARGE")
    assert re.fullmatch(r"calibration data: synthetic input 'input' \[1000000000000, 1, 8, 8\] needs 476837\.2 GiB "
                        r"of memory; this runner has [0-9.]+ [MG]iB available \(a stage may use half\): ask for fewer "
                        r"samples", text), text


def test_huge_benchmark_batch_is_refused_before_allocating(runner):
    c = runner.client
    model = c.put_file(EXAMPLES / "digits" / "model.onnx")
    data = c.put(EVAL).artifact
    code, text, detail = refusal(lambda: c.run_stage("benchmark", {"engine": model, "eval_data": data},
                                                     {"batches": [10 ** 12]}))
    assert (code, detail.kind, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER, "BAD_PARAM")
    assert re.fullmatch(r"benchmark batch 1000000000000 needs 238418\.6 GiB of memory; this runner has [0-9.]+ [MG]iB "
                        r"available \(a stage may use half\): lower benchmark.batch \(or the matrix's batch axis\)", text), text


def test_reference_input_that_is_not_an_npz_is_a_stage_input_error(runner):
    c = runner.client
    model = c.put_file(EXAMPLES / "digits" / "model.onnx")
    data = c.put(EVAL).artifact
    not_npz = c.put(b"PK\x03\x04 cut short").artifact
    code, text, detail = refusal(lambda: c.run_stage("evaluate", {"engine": model, "eval_data": data,
                                                                  "reference": not_npz}))
    assert (code, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, "STAGE_INPUT_INVALID")
    assert text == "stage input 'reference': not a readable .npz file (BadZipFile: File is not a zip file)"
