"""Parsing the engine inspector's JSON, in both the 10.x and the 11.x form.

`IEngineInspector.get_engine_information(LayerInformationFormat.JSON)` of an
engine built with `ProfilingVerbosity.DETAILED` returns
`{"Layers": [...], <I/O list>}`. Each layer has `Name`, `LayerType`, `Inputs`
and `Outputs` (tensor objects with `Name`, `Location`, `Dimensions` and the
type), `TacticValue` or `TacticName`, `StreamId`, `Metadata` (the ONNX
parser writes "[ONNX Layer: <node> | <function stack>]" per source node;
fused layers join them with the record separator "\\x1e", and 8.6/10.0
engines also hold the unit separator "\\x1f", the pair TREx's parser
replaces, NVIDIA/TensorRT#2779; Myelin kernels concatenate them without any)
and, for weighted layers, `Weights`/`Bias` objects with a `Type`.

The two forms (NVIDIA, "Migrating IEngineInspector Usage from TensorRT 10.x
to 11.x", TensorRT 11.0 docs; Polygraphy's TensorRT graph extractor on
NVIDIA/TensorRT main):
- 10.x: a tensor's type is inside one `Format/Datatype` string, e.g.
  "Row major linear FP32" or "Channel major FP16 format where channel % 8 == 0";
  the engine lists its I/O as `Bindings`, a flat list of names.
- 11.x: the string is split into `Format` and `Datatype` ("Half", "Float",
  "Int8"; the migration guide spells the engine-level key `DataType`, so
  both spellings are read everywhere); `Bindings` is replaced by
  `I/O Tensors`, objects with `Name`, `IOMode`, `DataType`, `Dimensions`,
  `Location`, `IsShapeInferenceIO` and `ProfileInfo`. Verified against a
  real engine: the 10.x form (TensorRT 10.6, issue 23); the 11.x form is
  documented, not yet seen in a real dump (docs/tensorrt.md).
Engines built with LAYER_NAMES_ONLY list layers as bare strings; they are
kept (names still map to ONNX nodes) but carry no types.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import UserError

# Checked in order; the first pattern that matches a type string wins. Words
# are matched whole so that "FLOAT" does not match inside "BFLOAT16".
_DTYPE_PATTERNS = [
    (re.compile(r"\bBFLOAT16\b|\bBF16\b"), "bf16"),
    (re.compile(r"\bFLOAT8\w*|\bFP8\b|\bE4M3\w*|\bE5M2\w*"), "fp8"),
    (re.compile(r"\bFLOAT4\w*|\bFP4\b|\bE2M1\b"), "fp4"),
    (re.compile(r"\bHALF\b|\bFP16\b|\bFLOAT16\b"), "fp16"),
    (re.compile(r"\bUINT8\b"), "uint8"),
    (re.compile(r"\bINT8\b"), "int8"),
    (re.compile(r"\bINT4\b"), "int4"),
    (re.compile(r"\bINT32\b"), "int32"),
    (re.compile(r"\bINT64\b"), "int64"),
    (re.compile(r"\bBOOL\b"), "bool"),
    (re.compile(r"\bFLOAT\b|\bFP32\b|\bFLOAT32\b"), "fp32"),
]

FLOAT_TYPES = ("fp32", "fp16", "bf16")
QUANTIZED_TYPES = ("int8", "fp8", "fp4", "int4")
_ONNX_LAYER = re.compile(r"^\[ONNX Layer: (.*)\]$", re.S)


def normalize_dtype(text: str | None) -> str | None:
    """Maps a TensorRT type string to trtpipe's names (fp32, fp16, int8, ...); None if unknown."""
    if not text:
        return None
    upper = str(text).upper()
    for pattern, name in _DTYPE_PATTERNS:
        if pattern.search(upper):
            return name
    return None


def onnx_nodes_from_metadata(metadata: str | None) -> list[str]:
    """ONNX node names in a layer's `Metadata` ("[ONNX Layer: a]\\x1e[ONNX Layer: b | f (fn)]")."""
    if not metadata:
        return []
    names = []
    for chunk in re.split(r"[\x1e\x1f]", str(metadata)):
        for entry in re.split(r"(?<=\])\s*(?=\[ONNX Layer: )", chunk.strip()):
            m = _ONNX_LAYER.match(entry.strip())
            if m:
                # " | " separates the node from its local-function stack.
                name = m.group(1).split(" | ", 1)[0].strip()
                if name and name not in names:
                    names.append(name)
    return names


@dataclass
class TensorInfo:
    name: str
    dtype: str | None  # fp32 | fp16 | bf16 | int8 | fp8 | int32 | int64 | bool | ... | None
    format: str = ""
    dims: list[int] = field(default_factory=list)


def evidence_tensors(layer: "LayerInfo", intermediates: frozenset[str] = frozenset()
                     ) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """(inputs, outputs) of a layer whose types say something about the ONNX nodes it computes.

    Left out: scalars (one element: a GEMM's alpha/beta, an epsilon), which are
    parameters, not data; and `intermediates`, tensors passed between two
    layers that compute the same ONNX node (Myelin splits an fp16
    LayerNormalization into two kernels and passes fp32 statistics between
    them: how Myelin split the work, not the node's type). Real TensorRT 10.6
    dumps, issue 23.
    """
    def keep(tensors):
        return [t for t in tensors if not (t.dims and all(d == 1 for d in t.dims)) and t.name not in intermediates]

    return keep(layer.inputs), keep(layer.outputs)


@dataclass
class LayerInfo:
    index: int
    name: str
    layer_type: str = ""
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    metadata_nodes: list[str] = field(default_factory=list)
    tactic: str = ""
    weights_type: str | None = None
    origin: str = ""


@dataclass
class IoTensor:
    name: str
    mode: str = ""  # Input | Output | "" (10.x Bindings carry names only)
    dtype: str | None = None
    dims: list[int] = field(default_factory=list)


@dataclass
class EngineInfo:
    """The parsed inspector output. `form` is "10.x", "11.x" or "names-only"."""

    form: str
    layers: list[LayerInfo]
    io: list[IoTensor]


def parse_engine_information(data: str | dict) -> EngineInfo:
    """Parses `get_engine_information(JSON)` output of either TensorRT major.

    Args:
        data: the JSON text or the already decoded object.

    Returns:
        EngineInfo with normalized tensor types.
    """
    obj = json.loads(data) if isinstance(data, (str, bytes)) else data
    if not isinstance(obj, dict) or not isinstance(obj.get("Layers"), list):
        raise UserError("the engine inspector output has no `Layers` list; was the engine built by TensorRT?",
                        code="TRT_INSPECTOR_FORMAT")
    layers = [_layer(i, raw) for i, raw in enumerate(obj["Layers"])]
    if "I/O Tensors" in obj:
        io = [_io_11(t) for t in obj.get("I/O Tensors") or [] if isinstance(t, dict)]
    else:
        io = [IoTensor(b) if isinstance(b, str) else IoTensor(str(b.get("Name", "")))
              for b in obj.get("Bindings") or []]
    return EngineInfo(_form(obj), layers, io)


def _form(obj: dict) -> str:
    if "I/O Tensors" in obj:
        return "11.x"
    if "Bindings" in obj and any(isinstance(layer, dict) for layer in obj["Layers"]):
        return "10.x"
    if all(isinstance(layer, str) for layer in obj["Layers"]):
        return "names-only"
    tensors = [t for layer in obj["Layers"] if isinstance(layer, dict)
               for t in (layer.get("Inputs") or []) + (layer.get("Outputs") or []) if isinstance(t, dict)]
    return "10.x" if any("Format/Datatype" in t for t in tensors) else "11.x"


def _layer(index: int, raw: Any) -> LayerInfo:
    if isinstance(raw, str):  # LAYER_NAMES_ONLY verbosity
        return LayerInfo(index, raw)
    if not isinstance(raw, dict):
        raise UserError(f"engine inspector layer {index} is neither an object nor a name", code="TRT_INSPECTOR_FORMAT")
    weights = raw.get("Weights")
    weights_type = normalize_dtype(weights.get("Type")) if isinstance(weights, dict) else None
    tactic = raw.get("TacticName") or raw.get("TacticValue") or ""
    return LayerInfo(
        index=index,
        name=str(raw.get("Name", "")),
        layer_type=str(raw.get("LayerType", "")),
        inputs=[_tensor(t) for t in raw.get("Inputs") or [] if isinstance(t, dict)],
        outputs=[_tensor(t) for t in raw.get("Outputs") or [] if isinstance(t, dict)],
        metadata_nodes=onnx_nodes_from_metadata(raw.get("Metadata")),
        tactic=str(tactic),
        weights_type=weights_type,
        origin=str(raw.get("Origin", "")),
    )


def _tensor(t: dict) -> TensorInfo:
    if "Format/Datatype" in t:  # 10.x: one string carries layout and type
        text = str(t["Format/Datatype"])
        return TensorInfo(str(t.get("Name", "")), normalize_dtype(text), text, _dims(t))
    dtype_text = t.get("Datatype", t.get("DataType"))  # 11.x: split keys
    return TensorInfo(str(t.get("Name", "")), normalize_dtype(dtype_text), str(t.get("Format", "")), _dims(t))


def _io_11(t: dict) -> IoTensor:
    return IoTensor(str(t.get("Name", "")), str(t.get("IOMode", "")),
                    normalize_dtype(t.get("DataType", t.get("Datatype"))), _dims(t))


def _dims(t: dict) -> list[int]:
    dims = t.get("Dimensions")
    return [int(d) for d in dims] if isinstance(dims, list) and all(isinstance(d, int) for d in dims) else []
