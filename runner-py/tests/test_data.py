"""Data sets: .npz, folders (via manifest) and declared synthetic data, checked against the model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.data.dataset import load_npz
from trtpipe_runner.data.manifest import MANIFEST_KIND, is_manifest, load_manifest
from trtpipe_runner.errors import UserError
from trtpipe_runner.model.tensors import TensorSpec

SPECS = [TensorSpec("input", "float32", ("batch", 1, 8, 8))]


def _npz(tmp_path, name="d.npz", **arrays):
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def test_npz_with_labels_and_sample_limit(tmp_path):
    p = _npz(tmp_path, input=np.zeros((10, 1, 8, 8), np.float32), labels=np.arange(10))
    ds = load_npz(p, SPECS, labels_key="labels", samples=4)
    assert ds.count == 4 and list(ds.labels) == [0, 1, 2, 3]
    assert ds.summary()["inputs"]["input"]["shape"] == [4, 1, 8, 8]


@pytest.mark.parametrize("arrays,code,fragment", [
    ({"inptu": np.zeros((2, 1, 8, 8), np.float32)}, "DATA_INPUT_MISSING", "did you mean 'inptu'"),
    ({"input": np.zeros((2, 1, 8, 8), np.float64)}, "DATA_DTYPE_MISMATCH", "astype(np.float32)"),
    ({"input": np.zeros((2, 8, 8), np.float32)}, "DATA_SHAPE_MISMATCH", "rank 4"),
    ({"input": np.zeros((2, 1, 8, 7), np.float32)}, "DATA_SHAPE_MISMATCH", "axis 3 is 7, not 8"),
    ({"input": np.zeros((0, 1, 8, 8), np.float32)}, "DATA_EMPTY", "no samples"),
])
def test_mismatches_name_the_input_and_the_fix(tmp_path, arrays, code, fragment):
    with pytest.raises(UserError) as info:
        load_npz(_npz(tmp_path, **arrays), SPECS, what="calibration data")
    assert info.value.code == code and fragment in info.value.message
    assert info.value.message.startswith("calibration data")


def test_unequal_counts_and_bad_labels(tmp_path):
    with pytest.raises(UserError) as info:
        load_npz(_npz(tmp_path, input=np.zeros((3, 1, 8, 8), np.float32), labels=np.arange(4)), SPECS, "labels")
    assert info.value.code == "DATA_COUNT_MISMATCH"
    with pytest.raises(UserError) as info:
        load_npz(_npz(tmp_path, input=np.zeros((3, 1, 8, 8), np.float32), labels=np.ones(3)), SPECS, "labels")
    assert info.value.code == "DATA_LABELS_INVALID"


def _manifest(tmp_path, store, body):
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"kind": MANIFEST_KIND, **body}))
    return p


def test_folder_of_npz_batches_concatenates_in_name_order(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    files = []
    for name, start in (("b.npz", 2), ("a.npz", 0)):
        p = _npz(tmp_path, name, input=np.full((2, 1, 8, 8), start, np.float32), labels=np.arange(start, start + 2))
        files.append({"name": name, "sha256": store.put_bytes(p.read_bytes())})
    m = _manifest(tmp_path, store, {"source": "evaldir", "files": files})
    assert is_manifest(m) and not is_manifest(_npz(tmp_path, input=np.zeros(1)))
    ds = load_manifest(m, store, SPECS, "labels", None, "evaluation data")
    assert list(ds.labels) == [0, 1, 2, 3] and ds.inputs["input"][0, 0, 0, 0] == 0
    assert "folder evaldir" in ds.source


def test_folder_of_npy_files_one_per_input(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    np.save(tmp_path / "input.npy", np.ones((3, 1, 8, 8), np.float32))
    np.save(tmp_path / "labels.npy", np.arange(3))
    files = [{"name": n, "sha256": store.put_bytes((tmp_path / n).read_bytes())} for n in ("input.npy", "labels.npy")]
    ds = load_manifest(_manifest(tmp_path, store, {"files": files}), store, SPECS, "labels", None, "data")
    assert ds.count == 3 and list(ds.labels) == [0, 1, 2]


def test_synthetic_data_is_seeded_in_range_and_flagged(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    m = _manifest(tmp_path, store, {"synthetic": {"seed": 7, "low": -2, "high": 2, "samples": 16}})
    a = load_manifest(m, store, SPECS, None, None, "calibration data")
    b = load_manifest(m, store, SPECS, None, None, "calibration data")
    assert a.synthetic and a.count == 16 and np.array_equal(a.inputs["input"], b.inputs["input"])
    assert -2 <= a.inputs["input"].min() and a.inputs["input"].max() <= 2
    assert any("SYNTHETIC" in w for w in a.warnings)


def test_synthetic_needs_concrete_shapes(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    m = _manifest(tmp_path, store, {"synthetic": {"samples": 4}})
    with pytest.raises(UserError) as info:
        load_manifest(m, store, [TensorSpec("tokens", "int64", ("batch", "seq"))], None, None, "data")
    assert info.value.code == "DATA_SHAPE_UNKNOWN" and "model.inputs.tokens.opt" in info.value.message
