"""Legacy weak-typing mode (TensorRT 10.x only, opt-in with `legacy_weak_typing: true`).

The network is created without STRONGLY_TYPED, so TensorRT may pick a
precision per layer among those the builder flags allow. trtpipe narrows that
choice to its own decisions:
- builder flags FP16 / BF16 / INT8 for each low precision the intent uses;
- `layer.precision` and `layer.set_output_type(i, dtype)` for every layer whose
  ONNX node has an intended float precision (from the lockfile, else the
  annotated graph);
- OBEY_PRECISION_CONSTRAINTS, so a layer TensorRT cannot run in its pinned
  precision fails the build instead of silently running elsewhere.
All of these are deprecated since 10.12 and removed in 11 (reference:
pyCore.cpp / pyGraph.cpp of release/10.16); version.py refuses the mode on 11.x.
INT8 here means explicit Q/DQ in the graph: implicit calibration (IInt8Calibrator)
is not supported, so int8 without Q/DQ nodes is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import UserError
from .config import ConfigReport
from .inspector import onnx_nodes_from_metadata

_FLAG_FOR = {"fp16": "FP16", "bf16": "BF16", "int8": "INT8", "fp8": "FP8"}
# Layers whose types are their meaning: pinning them would fight the graph.
_SKIP_LAYER_TYPES = ("CAST", "CONSTANT", "QUANTIZE", "DEQUANTIZE", "SHAPE", "ASSERTION", "IDENTITY")


@dataclass
class LegacyReport:
    flags: list[str] = field(default_factory=list)
    layers_pinned: int = 0
    layers_skipped: int = 0

    def to_json(self) -> dict:
        return {"flags": self.flags, "layers_pinned": self.layers_pinned, "layers_skipped": self.layers_skipped}


def precision_flags(intents: dict[str, str], cell_precision: str, has_qdq: bool) -> list[str]:
    """The weak-typing builder flags a build needs (pure; tested without TensorRT).

    Args:
        intents: node -> intended precision.
        cell_precision: the matrix cell's precision.
        has_qdq: whether the graph has QuantizeLinear/DequantizeLinear nodes.
    """
    wanted = set(intents.values()) | {cell_precision}
    if ("int8" in wanted or "fp8" in wanted) and not has_qdq:
        raise UserError("legacy_weak_typing with int8/fp8 needs Q/DQ nodes in the annotated model; TensorRT's "
                        "implicit INT8 calibration is not supported by trtpipe (and is removed in TensorRT 11)",
                        code="LEGACY_INT8_NEEDS_QDQ")
    return [flag for p, flag in _FLAG_FOR.items() if p in wanted]


def apply_weak_typing(trt, network, config, intents: dict[str, str], cell_precision: str, has_qdq: bool,
                      report: ConfigReport) -> LegacyReport:
    """Sets precision flags, per-layer precisions and OBEY_PRECISION_CONSTRAINTS.

    Args:
        trt: the tensorrt module (10.x).
        network: the weakly typed network.
        config: its builder config.
        intents: node -> intended precision (intent.intended_precisions).
        cell_precision: the matrix cell's precision.
        has_qdq: whether the graph carries Q/DQ nodes.
        report: the config report, extended with the flags set here.
    """
    out = LegacyReport()
    for name in precision_flags(intents, cell_precision, has_qdq):
        config.set_flag(getattr(trt.BuilderFlag, name))
        out.flags.append(name)
    dtypes = {"fp32": trt.float32, "tf32": trt.float32, "fp16": trt.float16,
              "bf16": getattr(trt, "bfloat16", None)}
    floats = {d for d in dtypes.values() if d is not None}
    skip = {getattr(trt.LayerType, t) for t in _SKIP_LAYER_TYPES if hasattr(trt.LayerType, t)}
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        nodes = onnx_nodes_from_metadata(getattr(layer, "metadata", "")) or [layer.name]
        dtype = next((dtypes.get(intents[n]) for n in nodes if n in intents and dtypes.get(intents[n])), None)
        if dtype is None:
            continue
        outputs = [layer.get_output(j) for j in range(layer.num_outputs)]
        if layer.type in skip or not outputs or any(o.dtype not in floats for o in outputs):
            out.layers_skipped += 1
            continue
        layer.precision = dtype
        for j in range(layer.num_outputs):
            layer.set_output_type(j, dtype)
        out.layers_pinned += 1
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    out.flags.append("OBEY_PRECISION_CONSTRAINTS")
    report.flags_set.extend(out.flags)
    return out
