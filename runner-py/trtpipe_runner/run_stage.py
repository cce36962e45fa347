"""Running one stage in this process, without the orchestrator or gRPC.

`python -m trtpipe_runner run-stage build --input model=m.onnx --params '{"backend": "torch"}'
--store .trtpipe-runner --json-out build.json` puts the input files into the artifact store,
runs the stage function with a StageContext as the servicer would, prints progress and logs
to stderr and writes the StageOutput as JSON. Outputs stay in the store, so a later call can
name them as inputs (`--input engine=sha256:<digest>`): a pipeline can be replayed stage by
stage on a GPU host that has no Node.js, which is also how the torch backend is measured.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .artifacts import CHUNK, ArtifactStore, check_sha
from .cancel import CancelToken
from .errors import UserError
from .host_code import engine_host_code
from .jsonsafe import sanitize
from .model.external import has_external_data
from .model.manifest import materialize, store_model
from .stages import get_leased_stage, parse_stage_params
from .stages.context import StageContext, StageOutput
from .untrusted import open_regular, parse_json_object

SHA_PREFIX = "sha256:"
# Limits on the files run-stage reads (docs: runner-py/README.md): inputs as large as `serve`
# takes uploads by default (--max-artifact-mib), params as large as a gRPC message.
MAX_INPUT_BYTES = 64 << 30
MAX_PARAMS_BYTES = 16 << 20


def put_copy(store: ArtifactStore, path: Path) -> str:
    """Copies a file into the store (the original stays); returns its sha256."""
    if not path.exists():
        raise UserError(f"input file {path} does not exist", code="INPUT_FILE_MISSING")
    writer = store.writer()
    try:
        with open_regular(path, MAX_INPUT_BYTES, "input file", "BAD_ARGUMENT") as f:
            while chunk := f.read(CHUNK):
                writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return writer.commit()


def parse_inputs(specs: list[str], store: ArtifactStore) -> dict[str, str]:
    """`name=path` (a file, copied into the store) or `name=sha256:<hex>` (already stored)."""
    inputs: dict[str, str] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise UserError(f"--input must be name=path or name=sha256:<digest>, got '{spec}'", code="BAD_ARGUMENT")
        if value.startswith(SHA_PREFIX):
            sha = check_sha(value[len(SHA_PREFIX):])
            store.require(sha)
            inputs[name] = sha
        elif _uses_external_data(Path(value)):
            inputs[name] = store_model(store, Path(value))[0]  # the .onnx and its data files, as a manifest
        else:
            inputs[name] = put_copy(store, Path(value))
    return inputs


def _uses_external_data(path: Path) -> bool:
    """True for an ONNX file whose tensors live in files beside it."""
    if path.suffix != ".onnx" or not path.is_file():
        return False
    import onnx

    return has_external_data(onnx.load(str(path), load_external_data=False))


def parse_params(text: str | None) -> dict[str, Any]:
    """JSON text, or @file holding JSON."""
    if not text:
        return {}
    if text.startswith("@"):
        with open_regular(text[1:], MAX_PARAMS_BYTES, "--params file", "BAD_ARGUMENT") as f:
            text = f.read().decode("utf-8", errors="replace")
    return parse_json_object(text, "--params", "BAD_ARGUMENT", finite=True)


def stderr_events(stream: TextIO | None = None, min_step: float = 0.1, min_seconds: float = 2.0):
    """An emit callback printing log lines, and progress when it moved on by `min_step`,
    `min_seconds` passed, or it is done (stages report every batch)."""
    last = {"fraction": -1.0, "time": 0.0}
    out = stream or sys.stderr

    def emit(kind: str, payload: tuple) -> None:
        if kind == "progress":
            fraction, message = payload
            now = time.monotonic()
            if fraction < 1.0 and fraction - last["fraction"] < min_step and now - last["time"] < min_seconds:
                return
            last.update(fraction=fraction, time=now)
            print(f"[{fraction * 100:5.1f}%] {message}", file=out, flush=True)
        elif kind == "log":
            level, message = payload
            print(f"{level}: {message}", file=out, flush=True)
        elif kind == "lease":
            print(lease_line(payload), file=out, flush=True)
    return emit


def lease_line(lease) -> str:
    """One line about a lease that waits or was granted after waiting (lease/leases.py Lease)."""
    who = ", ".join(lease.waited_for)
    if not lease.acquired_at:
        kind = "exclusive device" if lease.exclusive else "device"
        return f"waiting for {kind} {lease.device} (held by {who})"
    return f"got {'exclusive ' if lease.exclusive else ''}device {lease.device} after {lease.wait_seconds:.1f}s"


def run_stage(stage: str, inputs: dict[str, str], params: dict[str, Any], store: ArtifactStore,
              cancel: CancelToken | None = None, emit=None,
              allow_engine_host_code: bool = False) -> tuple[StageOutput, float]:
    """Runs `stage` on stored inputs; returns (its output, seconds).

    Args:
        stage: a stage name (stages.STAGES).
        inputs: input name -> sha256 of an artifact in `store`.
        params: the stage parameters, as the orchestrator sends them (every required key:
            proto/trtpipe/runner/v1/contract/stages/<stage>.schema.json); UserError names a missing one.
        store: the artifact store the outputs go to.
        cancel: cooperative cancellation (a fresh token by default).
        emit: event callback (see StageContext); silent by default.
        allow_engine_host_code: build and load engines with embedded host code (host_code.py).
    """
    run = get_leased_stage(stage)
    ctx = StageContext(store, cancel or CancelToken(), inputs, parse_stage_params(stage, params), cell="run-stage",
                       emit=emit or (lambda kind, payload: None), stage=stage)
    t0 = time.perf_counter()
    try:
        with engine_host_code(allow_engine_host_code):
            result = run(ctx)
        result.leases = list(ctx.leases)
    finally:
        ctx.cleanup()
    return result, time.perf_counter() - t0


def output_json(stage: str, result: StageOutput, seconds: float, store: ArtifactStore) -> dict[str, Any]:
    return sanitize({
        "stage": stage,
        "seconds": round(seconds, 4),
        "outputs": {name: {"sha256": o.sha256, "size": o.size, "media_type": o.media_type,
                           "path": str(materialize(store, o.sha256) if o.parts else store.path(o.sha256)),
                           **({"parts": [p.sha256 for p in o.parts]} if o.parts else {})}
                    for name, o in result.outputs.items()},
        "metrics": result.metrics,
        "details": result.details,
        "diagnostics": result.diagnostics,
        "leases": [lease.to_json() for lease in result.leases],
    })


def export_outputs(result: StageOutput, store: ArtifactStore, directory: Path) -> list[Path]:
    """Copies each output artifact to `directory/<name>` (a folder for a model with external data)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, o in result.outputs.items():
        dest = directory / name
        if o.parts:  # a model with external data: its folder, the .onnx with its data files
            shutil.copytree(materialize(store, o.sha256).parent, dest, dirs_exist_ok=True)
        else:
            shutil.copyfile(store.require(o.sha256), dest)
        written.append(dest)
    return written


def main(args) -> int:
    """The `run-stage` command (cli.py parses the arguments)."""
    from .errors import InternalError, RunnerError

    try:
        store = ArtifactStore(Path(args.store))
        inputs = parse_inputs(args.input or [], store)
        params = parse_params(args.params)
        result, seconds = run_stage(args.stage, inputs, params, store, emit=stderr_events(),
                                    allow_engine_host_code=args.allow_engine_host_code)
    except KeyboardInterrupt:
        print("run-stage: interrupted", file=sys.stderr)
        return 130
    except RunnerError as exc:
        if isinstance(exc, InternalError):
            raise
        where = f" (node {exc.node})" if exc.node else f" (input {exc.input})" if exc.input else ""
        print(f"run-stage {args.stage}: error {exc.code}{where}: {exc.message}", file=sys.stderr)
        return 2 if exc.code in ("BAD_ARGUMENT", "INPUT_FILE_MISSING", "UNKNOWN_STAGE", "BAD_PARAM", "PARAM_MISSING",
                                 "PARAM_UNKNOWN") else 1
    doc = output_json(args.stage, result, seconds, store)
    text = json.dumps(doc, indent=1, allow_nan=False)
    if args.json_out and args.json_out != "-":
        Path(args.json_out).write_text(text + "\n")
    else:
        print(text)
    if args.outputs_dir:
        export_outputs(result, store, Path(args.outputs_dir))
    shown = ", ".join(f"{k}={v:.6g}" for k, v in list(result.metrics.items())[:8])
    print(f"run-stage {args.stage}: done in {seconds:.2f}s; outputs: "
          f"{', '.join(f'{k}=sha256:{o.sha256}' for k, o in result.outputs.items()) or 'none'}"
          + (f"; {shown}" if shown else ""), file=sys.stderr)
    return 0
