"""build: compile the annotated model with the target's backend on this runner."""
from __future__ import annotations

from pathlib import Path

from ..backends import get_backend
from ..errors import UserError
from ..precision.types import LOWERED
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    settings = ctx.params.to_json()
    if ctx.params.timing_cache_dir is not None:  # checked first: whichever backend, never a folder outside
        settings["timing_cache_dir"] = str(timing_cache_dir(ctx.params.timing_cache_dir, ctx.store.root))
    backend = get_backend(ctx.params.backend)
    model_path = ctx.model_path("model")
    ctx.progress(0.1, f"building with {backend.name}")
    built = backend.build(model_path, ctx.scratch(), settings, ctx.cancel, log=lambda m, level="info": ctx.log(m, level))
    out = StageOutput(details=dict(built.details), metrics=dict(built.metrics))
    # An ONNX engine (onnxruntime, torch) keeps external data beside it when its model had it.
    onnx_engine = built.media_type == "application/onnx"
    out.outputs["engine"] = (ctx.save_model(built.engine, built.media_type, built.data_dir) if onnx_engine
                             else ctx.save_file(built.engine, built.media_type))
    engine = out.outputs["engine"]
    out.metrics["engine_bytes"] = float(sum(p.size for p in engine.parts) if engine.parts else engine.size)
    ctx.progress(0.8, "explaining realized precision")
    try:
        rows = built.explain if built.explain is not None else backend.explain(model_path, ctx.stored_path(engine),
                                                                                settings)
    except Exception as exc:  # noqa: BLE001 - explain is best effort; the build itself succeeded
        out.diagnostics.append({"level": "warning", "code": "EXPLAIN_FAILED", "message": f"explain: {exc}"})
        rows = []
    if rows:
        out.details["explain"] = [{"node": r.node, "realized": r.realized, "reason": r.reason, "detail": r.detail}
                                  for r in rows]
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.realized] = counts.get(r.realized, 0) + 1
        out.details["realized_counts"] = dict(sorted(counts.items()))
        # What the reports show as "ran in low precision": counted here, once, with the vocabulary.
        out.metrics["nodes_realized_low_precision"] = float(sum(n for p, n in counts.items() if p in LOWERED))
    ctx.progress(1.0, "done")
    return out


def timing_cache_dir(asked: str, state: Path) -> Path:
    """Where a client asked timing caches to live, which must be inside this runner's own state
    folder (`serve --store`): a client must not make the runner read or write a folder of its
    choosing. A relative path is taken under `state`; `..` and symlinks may not lead out.

    Raises:
        UserError (BAD_PARAM) naming params.timing_cache_dir.
    """
    root = state.resolve()
    folder = (root / asked).resolve()  # an absolute `asked` replaces root; resolve() follows every symlink
    if folder != root and root not in folder.parents:
        raise UserError(f"params.timing_cache_dir: {asked!r} is outside this runner's state folder {root}; give a "
                        "folder inside it (relative to it), or leave it out for the runner's own timing caches",
                        code="BAD_PARAM")
    return folder
