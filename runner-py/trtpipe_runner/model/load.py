"""Loading ONNX models with errors a user can act on."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError


def load_model(path: Path, what: str = "model", with_data: bool = False):
    """Loads and checks an ONNX model; names unnamed nodes deterministically.

    Args:
        path: the file (an artifact in the store, or a model's .onnx in its
            materialized folder when its tensors live in external data files).
        what: how to call it in error messages.
        with_data: load external data into memory too (for stages that change
            or read weights); otherwise such tensors stay references to files.
    Returns:
        onnx.ModelProto with every node named.
    Raises:
        UserError: MODEL_NOT_ONNX if the bytes are not an ONNX model,
            MODEL_INVALID if onnx.checker rejects it, MODEL_EXTERNAL_DATA_PATH
            if external data would be read from outside the model's folder.
    """
    import onnx
    from google.protobuf.message import DecodeError

    from .external import has_external_data

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as exc:
        raise UserError(f"the {what} is not an ONNX model ({exc})", code="MODEL_NOT_ONNX") from None
    if not model.graph.node and not model.graph.output:
        raise UserError(f"the {what} is not an ONNX model (it has no graph)", code="MODEL_NOT_ONNX")
    external = has_external_data(model)  # checks every location first
    try:
        # The checker finds external data relative to the file it reads; given
        # only the proto it would look in the current directory.
        onnx.checker.check_model(str(path) if external else model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
        raise UserError(f"the {what} is not a valid ONNX model: {first}", code="MODEL_INVALID") from None
    if external and with_data:
        from onnx.external_data_helper import load_external_data_for_model

        load_external_data_for_model(model, str(Path(path).parent))
    name_nodes(model)
    return model


def name_nodes(model) -> int:
    """Gives every unnamed or duplicate-named node a stable name; returns how many.

    Rules and lockfiles refer to nodes by name, so names must be unique and
    must not depend on anything but the graph: `<OpType>_<index>` by position.
    """
    seen: set[str] = set()
    renamed = 0
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            base = f"{node.op_type}_{i}"
            name = base
            k = 1
            while name in seen:
                name = f"{base}_{k}"
                k += 1
            node.name = name
            renamed += 1
        seen.add(node.name)
    return renamed


def opset_version(model, domain: str = "") -> int:
    for imp in model.opset_import:
        if imp.domain in (domain, "ai.onnx" if domain == "" else domain):
            return imp.version
    return 0
