"""Converting a model to a newer opset before typing it (bf16 Conv needs 22,
FP8 Q/DQ needs 19), with errors that say what failed."""
from __future__ import annotations

import onnx

from ..errors import UserError
from ..model.load import name_nodes, opset_version


def convert_opset(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
    """Returns `model` at opset `target` (unchanged if already there).

    Raises UserError if asked to go down or if ONNX's version converter fails.
    """
    current = opset_version(model)
    if target == current:
        return model
    if target < current:
        raise UserError(f"precision.opset {target} is older than the model's opset {current}; "
                        "trtpipe only converts upwards", code="OPSET_DOWNGRADE")
    try:
        converted = onnx.version_converter.convert_version(model, target)
    except Exception as exc:  # noqa: BLE001 - the converter raises RuntimeError/ValueError/...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"could not convert the model from opset {current} to {target}: {first}",
                        code="OPSET_CONVERSION_FAILED") from None
    # The converter can drop or rename nodes it rewrites; names must stay stable.
    name_nodes(converted)
    return converted
