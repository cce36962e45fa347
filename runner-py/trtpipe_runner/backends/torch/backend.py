"""PyTorch backend: the annotated ONNX graph executed on a CUDA GPU in its own dtypes.

Build artifact: the annotated ONNX model itself, with one metadata_props
entry (`trtpipe.torch.build`, JSON) recording the settings, torch version
and device it was checked on. Converting takes well under a second for the
models trtpipe targets, so `load` converts again rather than storing a
pickled module: the artifact stays a plain, inspectable ONNX file that any
torch version can load, and `build` still fails early (UNSUPPORTED_OP, a
missing GPU) by converting once.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ...cancel import CancelToken
from ...errors import UserError
from ...model.external import has_external_data
from ..base import Backend, BuildOutput, ExplainRow, Session
from .settings import TorchSettings, check_device, parse_settings

RECORD_KEY = "trtpipe.torch.build"
RECORD_FORMAT = 1


def _load_onnx(path: Path):
    import onnx
    from google.protobuf.message import DecodeError

    try:
        return onnx.load(str(path))
    except (DecodeError, ValueError, OSError) as exc:
        raise UserError(f"the torch backend cannot read {path.name} as ONNX ({exc})", code="MODEL_NOT_ONNX") from None


def _without_external_data(path: Path):
    """The model at `path` without its tensors when they live in external data files, else None."""
    import onnx

    raw = onnx.load(str(path), load_external_data=False)
    return raw if has_external_data(raw) else None


def read_record(model) -> dict[str, Any]:
    """The build record stored in the model, or {} for a plain ONNX file."""
    for prop in model.metadata_props:
        if prop.key == RECORD_KEY:
            try:
                return json.loads(prop.value)
            except json.JSONDecodeError:
                return {}
    return {}


def device_details(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": device, "torch": torch.__version__, "cuda": torch.version.cuda or ""}
    if device != "cpu":
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(gpu=props.name, compute_capability=f"{props.major}.{props.minor}",
                    memory_bytes=int(props.total_memory))
    return info


class TorchBackend(Backend):
    name = "torch"

    def build(self, model_path: Path, scratch: Path, settings: dict[str, Any], cancel: CancelToken,
              log=None) -> BuildOutput:
        from .program import Program

        s = parse_settings(settings)
        check_device(s.device)  # first: says so when torch or the GPU is missing
        model = _load_onnx(model_path)
        cancel.check()
        t0 = time.perf_counter()
        program = Program(model, s.device, s.fuse)
        convert_s = time.perf_counter() - t0
        summary = program.summary()
        del program
        record = {"format": RECORD_FORMAT, "settings": s.to_json(), **device_details(s.device)}
        out = scratch / "torch-model.onnx"
        # A model with external data keeps it: the record goes into its small .onnx, the data files beside it.
        stored = _without_external_data(model_path)
        target = stored if stored is not None else model
        for prop in list(target.metadata_props):
            if prop.key == RECORD_KEY:
                target.metadata_props.remove(prop)
        target.metadata_props.add(key=RECORD_KEY, value=json.dumps(record, sort_keys=True))
        out.write_bytes((stored if stored is not None else model).SerializeToString())
        details = {"backend": self.name, **record, "conversion": summary, "convert_seconds": round(convert_s, 4)}
        metrics = {"convert_ms": convert_s * 1000.0, "steps": float(summary["steps_generic"]),
                   "nodes_fused": float(summary["fused_nodes"]), "nodes_folded": float(summary["folded_at_load"])}
        if log:
            log(f"torch: converted {summary['nodes']} nodes in {convert_s * 1000:.0f} ms "
                f"({summary['folded_at_load']} folded, {summary['fused_nodes']} fused) for {s.device}")
        return BuildOutput(out, "application/onnx", details, metrics,
                           data_dir=model_path.parent if stored is not None else None)

    def _settings(self, model, settings: dict[str, Any]) -> TorchSettings:
        """The build's settings, overridden by those given now (device, cuda_graph, ...)."""
        recorded = read_record(model).get("settings", {})
        merged = {k: v for k, v in recorded.items() if k != "tf32"}
        if recorded.get("tf32"):
            merged["precision"] = "tf32"
        merged.update({k: v for k, v in settings.items() if v is not None})
        return parse_settings(merged)

    def load(self, engine_path: Path, settings: dict[str, Any]) -> Session:
        from .program import Program
        from .session import TorchSession
        from .settings import require_torch

        require_torch()
        model = _load_onnx(engine_path)
        s = self._settings(model, settings)
        check_device(s.device)
        return TorchSession(Program(model, s.device, s.fuse, s.compile), s)

    def explain(self, model_path: Path, engine_path: Path, settings: dict[str, Any]) -> list[ExplainRow]:
        from .explain import explain_model
        from .settings import require_torch

        require_torch()
        model = _load_onnx(engine_path)
        s = self._settings(model, settings)
        return explain_model(model, s.fuse, s.tf32, s.device != "cpu", s.device)


def create() -> Backend:
    from ...threads import apply_to_torch

    apply_to_torch()
    return TorchBackend()
