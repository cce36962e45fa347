"""ONNX Runtime backend: build = a session's optimized graph; run on CPU.

With `numerics: emulated`, the low-precision storage of the annotated graph
is emulated first (precision/emulate.py): ONNX Runtime's CPU provider would
otherwise compute FP16 graphs in FP32 and hide FP16 rounding and overflow.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...cancel import CancelToken
from ...errors import UserError
from ...model.external import has_external_data, save_with_external_data
from ...model.tensors import TensorSpec
from ..base import Backend, BuildOutput, ExplainRow, Session
from .session import OPT_LEVELS, make_session, ort_version

_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(bfloat16)": "bfloat16", "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8",
    "tensor(uint8)": "uint8", "tensor(bool)": "bool",
}


class OrtSession(Session):
    def __init__(self, session):
        self._s = session
        self._names = [o.name for o in session.get_outputs()]
        import onnxruntime as ort

        self._run_options = ort.RunOptions()

    def inputs(self) -> list[TensorSpec]:
        return [TensorSpec(i.name, _ORT_TYPES.get(i.type, i.type),
                           tuple(d if isinstance(d, int) else (d or "?") for d in i.shape))
                for i in self._s.get_inputs()]

    def output_names(self) -> list[str]:
        return list(self._names)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self._names, self._s.run(self._names, feeds, self._run_options)))

    def on_cancel(self, cancel: CancelToken) -> None:
        cancel.on_cancel(lambda: setattr(self._run_options, "terminate", True))

    def threads(self) -> dict[str, Any]:
        intra = self._s.get_session_options().intra_op_num_threads
        # 0 lets ONNX Runtime choose: one thread per physical core.
        return {"intra_op": intra or "default (one per physical core)", "inter_op": 1}


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def build(self, model_path: Path, scratch: Path, settings: dict[str, Any], cancel: CancelToken,
              log=None) -> BuildOutput:
        import onnx

        from ...precision.emulate import emulate_low_precision

        # The build stage's checked params (contract/stages/build.schema.json): every key is there.
        numerics, opt_level, threads = settings["numerics"], settings["opt_level"], int(settings["threads"])
        if opt_level not in OPT_LEVELS:
            raise UserError(f"opt_level must be one of {', '.join(OPT_LEVELS)}, got '{opt_level}'", code="BAD_PARAM")
        details: dict[str, Any] = {"backend": self.name, "version": ort_version(), "device": "cpu",
                                   "numerics": numerics, "opt_level": opt_level}
        metrics: dict[str, float] = {}
        external = has_external_data(onnx.load(str(model_path), load_external_data=False))
        # Weights are read into memory only to be changed (emulation) or serialized.
        model = onnx.load(str(model_path)) if numerics == "emulated" or not external else None
        if numerics == "emulated":
            model, points = emulate_low_precision(model)
            details["emulated_rounding_points"] = points
            metrics["emulated_rounding_points"] = float(points)
        elif numerics != "native":
            raise UserError(f"numerics must be 'native' or 'emulated', got '{numerics}'", code="BAD_PARAM")
        cancel.check()
        out = scratch / "session.onnx"
        # "all" adds layout transforms specific to this CPU to the saved graph;
        # the stored artifact stays portable at "extended" and the runtime
        # session applies the rest when it loads it.
        save_level = "extended" if opt_level == "all" else opt_level
        # A model with external data is read by path (ONNX Runtime finds the data
        # beside it) and its session file keeps its initializers in session.onnx.data.
        if not external:
            data = model.SerializeToString()
        else:
            data = save_with_external_data(model, scratch / "source" / "model.onnx") if model is not None else model_path
        keep_external = "session.onnx.data" if external else None
        _, save_level, fallback = _session(data, save_level, log, optimized_out=out, threads=threads,
                                           external_initializers=keep_external)
        if fallback:
            details["opt_level_fallback"] = {"from": opt_level, "to": "disable", "because": fallback}
            opt_level = "disable"
        details["saved_level"] = save_level
        _stamp_runtime_level(out, opt_level)
        return BuildOutput(out, "application/onnx", details, metrics)

    def session_from_model(self, model, settings: dict[str, Any]) -> Session:
        """An in-memory session for a model (no session file): the search's many
        candidate evaluations. Emulates low precision when settings ask for it, and
        optimizes as a build with these settings would (ONNX Runtime's graph
        optimizations change numerics: float8 Q/DQ graphs differ between the basic
        and the extended level), so a candidate measures what the run will."""
        from ...precision.emulate import emulate_low_precision

        if settings.get("numerics") == "emulated":
            model, _ = emulate_low_precision(model)
        session, _, _ = _session(model.SerializeToString(), settings.get("opt_level", "all"), None,
                                 threads=int(settings.get("threads", 0)))
        return OrtSession(session)

    def load(self, engine_path: Path, settings: dict[str, Any]) -> Session:
        # evaluate's and benchmark's checked params: opt_level and threads are there.
        level = _runtime_level(engine_path, settings["opt_level"])
        return OrtSession(make_session(engine_path, opt_level=level, threads=int(settings["threads"])))

    def explain(self, model_path: Path, engine_path: Path, settings: dict[str, Any]) -> list[ExplainRow]:
        from .explain import explain_emulated, explain_session_graph

        if settings.get("numerics") == "emulated":
            return explain_emulated(model_path)
        return explain_session_graph(model_path, engine_path)


RUNTIME_LEVEL_KEY = "trtpipe.onnxruntime.max_opt_level"


def _session(data: bytes, level: str, log, **kwargs):
    """(session, level used, why optimizations were turned off or ""): ONNX Runtime's
    fusions (LayerNormFusion, ...) can fuse a chain that is half FP32, half FP16 into
    one node with mismatched types and then reject their own graph; build without
    them then, and say so."""
    try:
        return make_session(data, opt_level=level, **kwargs), level, ""
    except UserError as exc:
        if exc.code != "BACKEND_LOAD_FAILED" or "Fusion" not in exc.message or level == "disable":
            raise
        if log:
            log(f"ONNX Runtime's optimizer broke this mixed-precision graph ({exc.message}); "
                "building with graph optimizations off instead", "warning")
        return make_session(data, opt_level="disable", **kwargs), "disable", exc.message


def _stamp_runtime_level(path: Path, level: str) -> None:
    """Records in the session file the highest optimization level it may be loaded with."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)  # external data stays where it is
    m.metadata_props.add(key=RUNTIME_LEVEL_KEY, value=level)
    path.write_bytes(m.SerializeToString())


def _runtime_level(path: Path, wanted: str) -> str:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    cap = next((p.value for p in m.metadata_props if p.key == RUNTIME_LEVEL_KEY), "all")
    return OPT_LEVELS[min(OPT_LEVELS.index(wanted), OPT_LEVELS.index(cap))]


def create() -> Backend:
    return OnnxRuntimeBackend()
