"""Converting a model to a newer opset before typing it (bf16 Conv needs 22,
FP8 Q/DQ and fp16/bf16 Q/DQ scales need 19), with errors that say what failed."""
from __future__ import annotations

import onnx

from ..errors import UserError
from ..model.load import name_nodes, opset_version
from .types import QUANTIZED

# QuantizeLinear/DequantizeLinear take fp16/bf16 scales (and inputs) from this opset on.
FLOAT_SCALE_OPSET = 19


def working_opset(model: onnx.ModelProto, policy) -> int | None:
    """The opset the transform (and the search) convert the model to, None to keep its own.

    `precision.opset`, raised to 19 when an int8/fp8 policy runs what it does not quantize in
    fp16/bf16 (`precision.unquantized`): only from opset 19 can a DequantizeLinear write fp16,
    so that the quantized layers compute in fp16 next to their fp16 neighbours instead of in fp32
    behind Casts (ModelOpt's ONNX quantization and AutoCast take 19 as their minimum likewise).
    An explicit `precision.opset` below 19 is kept: the quantized layers then compute in fp32
    behind Casts, with fp32 scales (apply.quantized_float), the form TensorRT 10.6 builds where
    fp16-scaled int8 convolutions feeding each other fail ("No supported formats"; docs/decisions.md).

    Args:
        model: the FP32 model.
        policy: the stage's policy params (contract.stages.Policy).
    """
    quantizes = policy.default in QUANTIZED or any(r.use in QUANTIZED for r in policy.rules)
    if not quantizes or policy.unquantized == "fp32":
        return policy.opset
    if policy.opset is not None and policy.opset < FLOAT_SCALE_OPSET:
        return policy.opset
    return max(policy.opset or opset_version(model), FLOAT_SCALE_OPSET)


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
