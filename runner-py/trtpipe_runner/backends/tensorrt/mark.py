"""Marking network tensors as outputs, to read intermediate values (the localize stage).

What Polygraphy's `--trt-outputs mark all` does (`mark_layerwise` in
polygraphy/backend/trt/util.py): every layer output becomes a network output,
except the outputs of shape and constant layers and of layers inside a loop,
which TensorRT cannot return. Here only the tensors asked for are marked; the
ONNX parser names a layer's output tensor after the ONNX tensor it computes, so
ONNX names find them. A name with no tensor in the network was folded by the
parser (constants, shape arithmetic) or absorbed into a layer it built for
another node. A marked tensor is computed and written out: TensorRT cannot
fuse across it any more, so the engine may be slower than, and round
differently from, the unmarked one.
"""
from __future__ import annotations

from typing import Any

_EXCLUDED = ("SHAPE", "CONSTANT")
_LOOP_START = ("TRIP_LIMIT", "ITERATOR", "RECURRENCE")
_LOOP_END = ("LOOP_OUTPUT",)


def mark_outputs(trt, network, names: list[str]) -> dict[str, str]:
    """Marks the tensors called `names` as network outputs; returns {name: why not} for the others."""
    kinds = {k: {getattr(trt.LayerType, n) for n in names_ if hasattr(trt.LayerType, n)}
             for k, names_ in (("excluded", _EXCLUDED), ("start", _LOOP_START), ("end", _LOOP_END))}
    found: dict[str, tuple[Any, str]] = {}
    in_loop = False
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type in kinds["start"]:
            in_loop = True
        elif layer.type in kinds["end"]:
            in_loop = False
        why = ("it is computed inside a loop" if in_loop else
               "a shape or constant layer computes it" if layer.type in kinds["excluded"] else "")
        for j in range(layer.num_outputs):
            tensor = layer.get_output(j)
            if tensor is not None:
                found[tensor.name] = (tensor, why)
    missing: dict[str, str] = {}
    for name in dict.fromkeys(names):
        tensor, why = found.get(name, (None, ""))
        if tensor is None:
            missing[name] = "not a tensor of the TensorRT network (the parser folded it or built it into another layer)"
        elif why:
            missing[name] = f"TensorRT cannot output it: {why}"
        elif not tensor.is_network_output:
            network.mark_output(tensor)
    return missing
