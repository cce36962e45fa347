"""`python -m trtpipe_runner run-stage`: stages without the orchestrator (ONNX Runtime, no torch needed)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.cli import main
from trtpipe_runner.errors import UserError
from trtpipe_runner.run_stage import parse_inputs, parse_params, put_copy

from . import stage_params

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples" / "digits"


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["run-stage", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_pipeline_replayed_stage_by_stage(tmp_path, capsys):
    store = str(tmp_path / "store")
    code, _, err = run_cli(capsys, "transform", "--input", f"model={DIGITS / 'model.onnx'}", "--params",
                           json.dumps(stage_params.transform("fp16")), "--store", store, "--json-out",
                           str(tmp_path / "t.json"))
    assert code == 0 and "run-stage transform: done" in err and "[100.0%] done" in err
    transformed = json.loads((tmp_path / "t.json").read_text())
    model_sha = transformed["outputs"]["model"]["sha256"]
    assert Path(transformed["outputs"]["model"]["path"]).is_file()

    code, _, _ = run_cli(capsys, "build", "--input", f"model=sha256:{model_sha}", "--params",
                         json.dumps(stage_params.build()), "--store", store, "--json-out", str(tmp_path / "b.json"),
                         "--outputs-dir", str(tmp_path / "out"))
    assert code == 0 and (tmp_path / "out" / "engine").is_file()
    engine = json.loads((tmp_path / "b.json").read_text())["outputs"]["engine"]["sha256"]

    params = tmp_path / "params.json"
    params.write_text(json.dumps(stage_params.reference(eval_data={"labels": "labels"})))
    code, out, _ = run_cli(capsys, "reference", "--input", f"model={DIGITS / 'model.onnx'}", "--input",
                           f"eval_data={DIGITS / 'eval.npz'}", "--params", f"@{params}", "--store", store)
    assert code == 0
    reference = json.loads(out)["outputs"]["reference"]["sha256"]

    params.write_text(json.dumps(stage_params.evaluate(eval_data={"labels": "labels"})))
    code, out, _ = run_cli(capsys, "evaluate", "--input", f"engine=sha256:{engine}", "--input",
                           f"eval_data={DIGITS / 'eval.npz'}", "--input", f"reference=sha256:{reference}",
                           "--params", f"@{params}", "--store", store, "--json-out", "-")
    result = json.loads(out)
    assert code == 0 and result["stage"] == "evaluate" and result["metrics"]["cosine"] > 0.999
    assert result["details"]["samples"] == 537
    # The device lease it held (shared: evaluating is not a measurement).
    assert [(lease["holder"], lease["mode"]) for lease in result["leases"]] == [("evaluate@run-stage", "shared")]


def test_a_missing_param_is_named_not_guessed(tmp_path, capsys):
    # The runner has no defaults of its own: a transform without policy.safety (the pipeline's
    # default data_max is 512; the runner used to assume none) is refused, naming the key.
    params = stage_params.transform("fp16")
    del params["policy"]["safety"]
    code, _, err = run_cli(capsys, "transform", "--input", f"model={DIGITS / 'model.onnx'}", "--params",
                           json.dumps(params), "--store", str(tmp_path / "store"))
    assert code == 2
    assert "run-stage transform: error PARAM_MISSING: params.policy: required key 'safety' is missing" in err


def test_a_wait_for_a_device_is_printed(tmp_path):
    from trtpipe_runner.lease.leases import Lease
    from trtpipe_runner.run_stage import lease_line

    waiting = Lease("cpu@h", True, "benchmark@run-stage", 100.0, waited_for=["evaluate@x"])
    assert lease_line(waiting) == "waiting for exclusive device cpu@h (held by evaluate@x)"
    waiting.acquired_at = 102.5
    assert lease_line(waiting) == "got exclusive device cpu@h after 2.5s"


def test_errors_are_one_line_with_code_and_exit_status(tmp_path, capsys):
    store = str(tmp_path / "store")
    code, _, err = run_cli(capsys, "evaluate", "--input", "engine=nope.onnx", "--store", store)
    assert code == 2 and "INPUT_FILE_MISSING" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "inspect", "--input", f"model={DIGITS / 'eval.npz'}", "--store", store)
    assert code == 1 and "error MODEL_NOT_ONNX" in err
    code, _, err = run_cli(capsys, "explode", "--store", store)
    assert code == 2 and "UNKNOWN_STAGE" in err
    code, _, err = run_cli(capsys, "inspect", "--input", f"model=sha256:{'0' * 64}", "--store", store)
    assert code == 1 and "NOT_FOUND" in err


def test_inputs_and_params_parsing(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    src = tmp_path / "blob.bin"
    src.write_bytes(b"abc")
    sha = put_copy(store, src)
    assert src.read_bytes() == b"abc" and store.read_bytes(sha) == b"abc"  # copied, not moved
    assert parse_inputs([f"a={src}", f"b=sha256:{sha}"], store) == {"a": sha, "b": sha}
    for bad in ("novalue", "=x", "a="):
        with pytest.raises(UserError):
            parse_inputs([bad], store)
    assert parse_params(None) == {} and parse_params('{"a": 1}') == {"a": 1}
    with pytest.raises(UserError):
        parse_params("[1]")
    with pytest.raises(UserError):
        parse_params("{oops")


def test_module_entry_point(tmp_path):
    """The documented command line: python -m trtpipe_runner run-stage ..."""
    proc = subprocess.run([sys.executable, "-m", "trtpipe_runner", "run-stage", "inspect", "--input",
                           f"model={DIGITS / 'model.onnx'}", "--store", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["details"]["node_count"] == 12
