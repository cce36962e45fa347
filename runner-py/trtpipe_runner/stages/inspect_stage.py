"""inspect: parse the model, list its inputs, outputs, op types and nodes."""
from __future__ import annotations

from ..model.inspect import describe
from ..model.load import load_model, name_nodes
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    path = ctx.model_path("model")
    model = load_model(path)
    details = describe(model)
    out = StageOutput(details=details)
    out.metrics = {"nodes": details["node_count"], "parameters": details["parameter_count"]}
    import onnx

    raw = onnx.load(str(path), load_external_data=False)
    unnamed = name_nodes(raw)
    if unnamed:
        out.diagnostics.append({
            "level": "warning", "code": "NODES_RENAMED",
            "message": f"{unnamed} nodes had no (or a duplicate) name; trtpipe calls them <OpType>_<index>",
        })
    return out
