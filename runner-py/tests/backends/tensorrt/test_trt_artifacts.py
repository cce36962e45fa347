"""The engine container, timing-cache keying and storage, and explain from a stored artifact."""
from __future__ import annotations

import zipfile

import onnx
import pytest

from trtpipe_runner.backends import get_backend
from trtpipe_runner.backends.tensorrt.container import FORMAT, MEDIA_TYPE, EngineArtifact, read_artifact, write_artifact
from trtpipe_runner.backends.tensorrt.timing_cache import ENV_VAR, TargetIdentity, TimingCacheStore, cache_dir
from trtpipe_runner.errors import UserError

H200 = TargetIdentity("NVIDIA H200", "9.0", "570.86.15", "10.13.0.35")


def test_container_round_trip_and_determinism(tmp_path):
    art = EngineArtifact(b"\x00plan-bytes" * 100, {"tensorrt_version": "10.13.0.35"}, '{"Layers": []}')
    a, b = tmp_path / "a.trtpipe", tmp_path / "b.trtpipe"
    write_artifact(a, art)
    write_artifact(b, art)
    assert a.read_bytes() == b.read_bytes()  # fixed entry timestamps: same plan, same artifact
    back = read_artifact(a)
    assert back.plan == art.plan and back.layers_json == art.layers_json
    assert back.settings == {"tensorrt_version": "10.13.0.35", "format": FORMAT}
    assert read_artifact(a, with_plan=False).plan == b""
    with zipfile.ZipFile(a) as z:  # a plain zip: `unzip -p x engine.plan` gives the plan for trtexec
        assert z.read("engine.plan") == art.plan
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    assert MEDIA_TYPE.endswith("+zip")


def test_container_rejects_other_files(tmp_path):
    plain = tmp_path / "model.plan"
    plain.write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a trtpipe TensorRT engine artifact") as exc:
        read_artifact(plain)
    assert exc.value.code == "BAD_ENGINE_ARTIFACT"


def test_identity_key_is_stable_and_separates_every_field():
    assert H200.key() == TargetIdentity("NVIDIA H200", "9.0", "570.86.15", "10.13.0.35").key()
    assert H200.key().startswith("NVIDIA-H200_sm9.0_drv570.86.15_trt10.13.0.35-")
    others = [TargetIdentity("NVIDIA H100 80GB HBM3", "9.0", "570.86.15", "10.13.0.35"),
              TargetIdentity("NVIDIA H200", "8.9", "570.86.15", "10.13.0.35"),
              TargetIdentity("NVIDIA H200", "9.0", "575.51.03", "10.13.0.35"),
              TargetIdentity("NVIDIA H200", "9.0", "570.86.15", "11.1.0")]
    keys = {o.key() for o in others} | {H200.key()}
    assert len(keys) == 5


def test_identity_key_hash_keeps_lookalikes_apart():
    a = TargetIdentity("GPU/A", "9.0", "1", "10")
    b = TargetIdentity("GPU A", "9.0", "1", "10")
    assert a.key().rsplit("-", 1)[0] == b.key().rsplit("-", 1)[0]  # same readable part after sanitizing
    assert a.key() != b.key()


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert cache_dir(str(tmp_path / "setting")) == tmp_path / "setting"
    assert cache_dir(None) == tmp_path / "env"
    monkeypatch.delenv(ENV_VAR)
    assert str(cache_dir(None)).endswith(".cache/trtpipe/timing")


def test_store_load_save(tmp_path):
    store = TimingCacheStore(tmp_path / "caches")
    assert store.load(H200) is None
    path = store.save(H200, b"timing v1")
    assert store.load(H200) == b"timing v1" and path.name == f"{H200.key()}.timing-cache"
    store.save(H200, b"timing v2")
    assert store.load(H200) == b"timing v2"
    assert [p.name for p in (tmp_path / "caches").iterdir()] == [path.name]  # no temporary files left
    assert store.load(TargetIdentity("NVIDIA H200", "9.0", "570.86.15", "11.1.0")) is None


def test_backend_explain_reads_the_stored_inspector_json(tmp_path, trt10_sample, digits_fp16):
    """explain() needs neither TensorRT nor a GPU once the artifact carries layers.json."""
    model_path = tmp_path / "annotated.onnx"
    onnx.save(digits_fp16, str(model_path))
    engine = tmp_path / "engine.trtpipe"
    sidecar = {"settings": {"legacy_weak_typing": False, "tf32": False},
               "target": {"compute_capability": "9.0"}}
    write_artifact(engine, EngineArtifact(b"plan", sidecar, trt10_sample))
    rows = get_backend("tensorrt").explain(model_path, engine, {"backend": "tensorrt"})
    assert len(rows) == 12 and {r.realized for r in rows} == {"fp16"}
    rows = get_backend("tensorrt").explain(model_path, engine, {"lock": [{"node": "/Softmax", "resolved": "fp32"}]})
    softmax = next(r for r in rows if r.node == "/Softmax")
    assert (softmax.realized, softmax.reason) == ("fp16", "REALIZED_LOWER")
