"""From decisions to the precision-annotated graph: the one path every caller takes.

The transform stage writes this graph and the precision search evaluates it
for every candidate; both call `annotated_model`, so the search measures the
graph the run builds (same I/O handling, same Q/DQ placement and scales).
"""
from __future__ import annotations

import onnx

from ..errors import UserError
from ..model.load import opset_version
from .annotate import annotate
from .opset import FLOAT_SCALE_OPSET
from .qdq import insert_qdq
from .types import QUANTIZED


def annotated_model(model: onnx.ModelProto, decisions: list, keep_io: bool,
                    amax: dict[str, float] | None, per_channel: bool,
                    smoothing: dict[str, list[float]] | None = None,
                    unquantized: str = "fp32") -> tuple[onnx.ModelProto, dict]:
    """The annotated copy of `model` and counts of what was inserted.

    Args:
        model: the FP32 model (already converted to the policy's opset).
        decisions: one NodeDecision per node (policy.resolve).
        keep_io: graph inputs and outputs stay FP32 (`precision.io: keep`).
        amax: calibration thresholds per tensor (the calibrate stage), for int8/fp8 nodes.
        per_channel: weights quantized per output channel (`calibration.per_channel`).
        smoothing: SmoothQuant factors per quantized activation (the calibrate stage, `calibration.smoothing`).
        unquantized: `precision.unquantized`; the quantized nodes compute in it too (see quantized_float).
    """
    opset = opset_version(model)
    quantized_as = quantized_float(unquantized, opset)
    annotated, counts = annotate(model, decisions, keep_io=keep_io, quantized_as=quantized_as)
    if any(d.resolved in QUANTIZED for d in decisions):
        if amax is None:
            raise UserError("int8/fp8 nodes need calibration: add data.calibration to the pipeline",
                            code="CALIBRATION_MISSING")
        counts.update(insert_qdq(annotated, decisions, amax, per_channel, opset_version(annotated), smoothing,
                                 quantized_as))
    return annotated, counts


def quantized_float(unquantized: str, opset: int) -> str:
    """The float type int8/fp8 nodes compute in behind their DequantizeLinear.

    `precision.unquantized` where Q/DQ can carry it (fp16/bf16 scales exist from opset 19): the
    DequantizeLinear then writes fp16 and the Conv/GEMM reads and writes fp16 like its unquantized
    neighbours, with no Cast between them (ModelOpt's high_precision_dtype graph). The transform
    converts such models to opset 19 (opset.working_opset); a graph below it (a direct caller's)
    computes its quantized layers in fp32, with Casts to and from their fp16 neighbours.
    """
    return unquantized if unquantized != "fp32" and opset >= FLOAT_SCALE_OPSET else "fp32"
