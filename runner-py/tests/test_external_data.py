"""Models with external data on the runner: manifests, folders, path checks, stages, taking files by path."""
from __future__ import annotations

import hashlib
import json
import os

import grpc
import onnx
import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.errors import IntegrityError, UserError
from trtpipe_runner.gen import runner_pb2 as pb
from trtpipe_runner.model.load import load_model
from trtpipe_runner.model.manifest import MEDIA_TYPE, manifest_bytes, materialize, read_manifest, store_model
from trtpipe_runner.server import create_server

from . import stage_params
from .conftest import TOKEN, Client, details, error_detail
from .fixtures.models import EXAMPLES


def save_external(model, folder, location="weights.bin"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    return path


@pytest.fixture
def digits_external(tmp_path):
    return save_external(onnx.load(str(EXAMPLES / "digits" / "model.onnx")), tmp_path / "digits")


def upload_model(client: Client, path):
    """What the orchestrator does: every file, then the manifest naming them."""
    files = []
    for name in ("model.onnx", "weights.bin"):
        data = (path.parent / name).read_bytes()
        files.append({"name": name, "sha256": client.put(data).artifact.sha256, "size": len(data)})
    return client.put(manifest_bytes("model.onnx", files)).artifact


def test_a_model_with_external_data_goes_through_every_stage(client, digits_external, digits):
    model = upload_model(client, digits_external)
    _, inspected = client.run_stage("inspect", {"model": model})
    assert details(inspected)["node_count"] > 0
    _, ref = client.run_stage("reference", {"model": model, "eval_data": digits["eval_data"],
                                            "calib_data": digits["calib_data"]})
    _, scales = client.run_stage("calibrate", {"model": model, "calib_data": digits["calib_data"]},
                                 {"method": "minmax"})
    _, t = client.run_stage("transform", {"model": model, "ranges": ref.outputs["ranges"],
                                          "scales": scales.outputs["scales"]}, {"policy": {"default": "int8"}})
    annotated = t.outputs["model"]
    assert annotated.media_type == MEDIA_TYPE and len(t.output_parts["model"].parts) == 2
    _, built = client.run_stage("build", {"model": annotated}, {"backend": "onnxruntime"})
    _, ev = client.run_stage("evaluate", {"engine": built.outputs["engine"], "eval_data": digits["eval_data"],
                                          "reference": ref.outputs["reference"]}, {"backend": "onnxruntime"})
    assert ev.metrics["cosine"] > 0.99


def test_the_folder_holds_copies_with_one_link_each(tmp_path, digits_external):
    # onnx refuses external data files with several hard links ("hardlink attack"): no links into the store.
    store = ArtifactStore(tmp_path / "store")
    sha, _, parts = store_model(store, digits_external)
    onnx_path = materialize(store, sha)
    assert os.stat(onnx_path.parent / "weights.bin").st_nlink == 1
    assert os.stat(digits_external.parent / "weights.bin").st_nlink == 1, "the user's file got no extra link"
    assert load_model(onnx_path, with_data=True).graph.initializer[0].raw_data
    assert materialize(store, sha) == onnx_path  # built once
    assert [p for p, _ in parts] == [hashlib.sha256((digits_external.parent / n).read_bytes()).hexdigest()
                                     for n in ("model.onnx", "weights.bin")]


def test_a_location_outside_the_folder_is_refused(tmp_path, digits_external):
    m = onnx.load(str(digits_external), load_external_data=False)
    for entry in m.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../../etc/passwd"
    digits_external.write_bytes(m.SerializeToString())
    with pytest.raises(UserError) as info:
        store_model(ArtifactStore(tmp_path / "store"), digits_external)
    assert info.value.code == "MODEL_EXTERNAL_DATA_PATH" and "leaves the model's folder" in info.value.message


@pytest.mark.parametrize("name", ["../x.bin", "/etc/passwd", "a\\b", "./model.onnx", ""])
def test_a_manifest_naming_files_outside_its_folder_is_refused(tmp_path, name):
    store = ArtifactStore(tmp_path / "store")
    sha = store.put_bytes(b"x")
    body = json.dumps({"kind": "trtpipe.model/1", "model": "model.onnx",
                       "files": [{"name": "model.onnx", "sha256": sha, "size": 1}, {"name": name, "sha256": sha, "size": 1}]})
    with pytest.raises(UserError) as info:
        read_manifest(store.require(store.put_bytes(body.encode())))
    assert info.value.code == "MODEL_MANIFEST_INVALID"


def test_import_by_path_copies_and_verifies(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    source = tmp_path / "blob.bin"
    source.write_bytes(os.urandom(9 << 20))  # more than two copy pieces
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.import_file(source, sha, source.stat().st_size) == sha
    assert store.require(sha).read_bytes() == source.read_bytes() and os.stat(source).st_nlink == 1
    with pytest.raises(IntegrityError):
        store.import_file(source, "0" * 64)


def test_only_a_runner_started_to_accept_paths_takes_them(tmp_path, client):
    source = tmp_path / "blob.bin"
    source.write_bytes(b"bytes on this host")
    ref = pb.ArtifactRef(sha256=hashlib.sha256(source.read_bytes()).hexdigest(), size=source.stat().st_size)
    with pytest.raises(grpc.RpcError) as info:
        client.stub.ImportArtifact(pb.ImportArtifactRequest(artifact=ref, path=str(source)), metadata=client.metadata)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert error_detail(info.value).code == "PATHS_NOT_ACCEPTED"
    srv = create_server("127.0.0.1:0", TOKEN, tmp_path / "local-store", accept_paths=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
            local = Client(ch)
            reply = local.stub.ImportArtifact(pb.ImportArtifactRequest(artifact=ref, path=str(source)),
                                              metadata=local.metadata)
            assert not reply.already_present and local.get(ref.sha256) == source.read_bytes()
            wrong = pb.ArtifactRef(sha256="f" * 64, size=ref.size)
            with pytest.raises(grpc.RpcError) as bad:
                local.stub.ImportArtifact(pb.ImportArtifactRequest(artifact=wrong, path=str(source)),
                                          metadata=local.metadata)
            assert bad.value.code() == grpc.StatusCode.DATA_LOSS
    finally:
        srv.stop(0.5)


def test_run_stage_takes_a_model_with_external_data_from_its_folder(tmp_path, digits_external):
    from trtpipe_runner.run_stage import parse_inputs

    store = ArtifactStore(tmp_path / "store")
    sha = parse_inputs([f"model={digits_external}"], store)["model"]
    assert read_manifest(store.require(sha))["model"] == "model.onnx"


def test_the_torch_backend_builds_and_runs_it_keeping_the_data_outside(tmp_path, digits_external):
    pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's tests need it")
    import numpy as np

    from trtpipe_runner.backends import get_backend
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.stages import get_stage
    from trtpipe_runner.stages.context import StageContext

    store = ArtifactStore(tmp_path / "store")
    sha, _, _ = store_model(store, digits_external)
    ctx = StageContext(store, CancelToken(), {"model": sha}, stage_params.typed("build", {"backend": "torch", "device": "cpu"}))
    engine = get_stage("build")(ctx).outputs["engine"]
    assert engine.media_type == MEDIA_TYPE and len(engine.parts) == 2
    x = np.load(EXAMPLES / "digits" / "eval.npz")["input"][:4]
    session = get_backend("torch").load(ctx.stored_path(engine), {})
    expected = get_backend("onnxruntime").session_from_model(onnx.load(str(EXAMPLES / "digits" / "model.onnx")), {})
    name = session.output_names()[0]
    np.testing.assert_allclose(session.run({"input": x})[name], expected.run({"input": x})[name], rtol=1e-4, atol=1e-5)


def test_locations_are_found_in_subgraphs_and_attributes():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from trtpipe_runner.model.external import external_locations

    def external(name, location):
        t = numpy_helper.from_array(np.ones(4, np.float32), name)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value=location)
        return t

    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    branch = helper.make_graph([helper.make_node("Identity", ["B"], ["y"])], "then", [], [out],
                               [external("B", "branch.bin")])
    nodes = [helper.make_node("Constant", [], ["c"], value=external("C", "./data/const.bin")),
             helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])], [out])
    assert external_locations(helper.make_model(g)) == {"branch.bin": ["B", "B"], "data/const.bin": ["C"]}
