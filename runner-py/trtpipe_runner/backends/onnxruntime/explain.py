"""Realized precision on ONNX Runtime: the annotated graph vs. the session's graph.

ONNX Runtime writes the graph it actually runs (after kernel assignment and
its InsertCastTransformer) to the session file the build stage stores. A node
the annotated graph types as FP16 whose output the session graph types as FP32
ran in FP32: ONNX Runtime had no kernel for it (NO_KERNEL_ON_BACKEND). Nodes
fused away are looked up by the tensor they produced.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from ...model.tensors import tensor_types
from ...precision.types import SHORT
from ..base import ExplainRow

FLOATS = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)


def node_type(node, types: dict[str, int]) -> int | None:
    """The float type a node computes in: its first float output, else first float input."""
    for name in list(node.output) + list(node.input):
        t = types.get(name)
        if t in FLOATS:
            return t
    return None


def explain_session_graph(annotated_path: Path, session_path: Path) -> list[ExplainRow]:
    annotated = onnx.load(str(annotated_path))
    session = onnx.load(str(session_path))
    a_types = tensor_types(annotated)
    s_types = tensor_types(session)
    s_nodes = {n.name: n for n in session.graph.node}
    rows = []
    for node in annotated.graph.node:
        if node.name.startswith("trtpipe/"):
            continue  # casts trtpipe inserted are bookkeeping, not user nodes
        want = node_type(node, a_types)
        if want is None:
            rows.append(ExplainRow(node.name, "-", "NO_FLOAT_MATH"))
            continue
        s_node = s_nodes.get(node.name)
        got = node_type(s_node, s_types) if s_node is not None else _by_outputs(node, a_types, s_types)
        reason, detail = "", ""
        if s_node is None:
            reason, detail = "FUSED", "fused into another node by ONNX Runtime's optimizer"
        if got is None:
            rows.append(ExplainRow(node.name, "?", reason or "NOT_IN_SESSION_GRAPH", detail))
            continue
        if got != want:
            reason = "NO_KERNEL_ON_BACKEND"
            detail = (f"ONNX Runtime (CPU) has no {SHORT.get(want, want)} kernel here and computes in "
                      f"{SHORT.get(got, got)}, inserting casts")
        rows.append(ExplainRow(node.name, SHORT.get(got, "?"), reason, detail))
    return rows


def _by_outputs(node, a_types, s_types) -> int | None:
    for out in node.output:
        if a_types.get(out) in FLOATS and s_types.get(out) in FLOATS:
            return s_types[out]
    return None
