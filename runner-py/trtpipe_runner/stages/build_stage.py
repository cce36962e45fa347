"""build: compile the annotated model for a backend on this runner.

onnxruntime: creates a session (which runs ONNX Runtime's graph optimizations
and its kernel assignment) and stores the optimized graph it runs, the
"session file". With `numerics: emulated`, the low-precision storage of the
annotated graph is emulated first (precision/emulate.py), so the CPU shows
FP16/BF16 rounding and overflow instead of silently computing in FP32.
"""
from __future__ import annotations

from ..backends.onnxruntime.session import OPT_LEVELS, make_session, ort_version
from ..errors import UnsupportedError, UserError
from ..model.load import load_model
from ..precision.emulate import emulate_low_precision
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    backend = ctx.params.get("backend", "onnxruntime")
    if backend != "onnxruntime":
        raise UnsupportedError(f"backend '{backend}' is not available on this runner", code="BACKEND_UNAVAILABLE")
    model = load_model(ctx.input_path("model"), what="annotated model")
    numerics = ctx.params.get("numerics", "native")
    opt_level = ctx.params.get("opt_level", "all")
    if opt_level not in OPT_LEVELS:
        raise UserError(f"opt_level must be one of {', '.join(OPT_LEVELS)}, got '{opt_level}'", code="BAD_PARAM")
    out = StageOutput()
    if numerics == "emulated":
        model, points = emulate_low_precision(model)
        out.details["emulated_rounding_points"] = points
        out.metrics["emulated_rounding_points"] = float(points)
    elif numerics != "native":
        raise UserError(f"numerics must be 'native' or 'emulated', got '{numerics}'", code="BAD_PARAM")
    ctx.progress(0.2, "creating session")
    optimized = ctx.scratch() / "session.onnx"
    # Only the basic/extended levels give a portable saved graph; "all" adds
    # layout transforms for this CPU. The stored artifact is what evaluate and
    # benchmark load with optimizations off, so both run exactly this graph.
    save_level = "extended" if opt_level == "all" else opt_level
    make_session(model.SerializeToString(), opt_level=save_level, optimized_out=optimized)
    out.outputs["engine"] = ctx.save_file(optimized, "application/onnx")
    out.details.update(backend="onnxruntime", version=ort_version(), device="cpu", numerics=numerics,
                       opt_level=opt_level, saved_level=save_level)
    out.metrics["engine_bytes"] = float(out.outputs["engine"].size)
    ctx.progress(1.0, "done")
    return out
