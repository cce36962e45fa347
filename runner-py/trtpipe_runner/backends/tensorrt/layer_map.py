"""Engine layers -> the ONNX nodes they came from.

Evidence, strongest first:
1. `Metadata` (DETAILED verbosity): the ONNX parser tags every layer it
   creates with "[ONNX Layer: <node>]" and TensorRT joins the tags of fused
   layers (onnx-tensorrt `processMetadata`, importerUtils.cpp).
2. The layer name. The parser names layers after their ONNX node; TensorRT
   renames what it rewrites:
   - fusions: "/conv1/Conv + /relu1/Relu";
   - Myelin (the compiler behind transformer blocks and other fused
     subgraphs): "{ForeignNode[/first/node.../last/node]}", naming only the
     first and last node of the region. Nodes between them in graph order that
     no other layer claims are attributed to the region;
   - Myelin sub-layers of newer 10.x releases: "/blk_0/attn/MatMul_myl3_2",
     the node name with '.' replaced by '_' and a "_myl<a>_<b>" suffix;
     generated kernels ("__myl_MulAdd_myl3_4") name no node;
   - "Reformatting CopyNode for Input Tensor 0 to <layer>": a layout or type
     conversion TensorRT added; it belongs to no ONNX node.
Layer name formats as seen in TensorRT build logs and trtexec layer dumps
(e.g. "Could not find any implementation for node {ForeignNode[a...b]}").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .inspector import LayerInfo

_FOREIGN = re.compile(r"^\{ForeignNode\[(.*)\]\}$", re.S)
_MYELIN_SUFFIX = re.compile(r"_myl\d+_\d+$")
REFORMAT_PREFIX = "Reformatting CopyNode for "


@dataclass
class LayerNodes:
    """The ONNX nodes one engine layer covers, and how that was established."""

    layer: int
    nodes: list[str] = field(default_factory=list)
    how: str = "unmapped"  # metadata | name | fused-name | region | myelin-name | reformat | unmapped
    opaque: bool = False  # a Myelin region: types inside it are not reported


@dataclass
class LayerMap:
    by_layer: list[LayerNodes]
    by_node: dict[str, list[int]]  # node -> layer indices, in engine order

    def unmapped(self) -> list[int]:
        return [ln.layer for ln in self.by_layer if ln.how == "unmapped"]


def parse_layer_name(name: str) -> tuple[str, list[str]]:
    """Splits a layer name into (kind, ONNX names it mentions).

    Returns:
        ("reformat", []), ("region", [first, last]), ("fused", parts) or ("plain", [name]).
    """
    if name.startswith(REFORMAT_PREFIX):
        return "reformat", []
    m = _FOREIGN.match(name.strip())
    if m:
        inner = m.group(1)
        if "..." in inner:
            first, last = inner.split("...", 1)
            return "region", [first.strip(), last.strip()]
        return "region", [inner.strip()]
    if " + " in name:
        return "fused", [p.strip() for p in name.split(" + ") if p.strip()]
    return "plain", [name]


def is_opaque(layer: LayerInfo) -> bool:
    """A Myelin region whose inside TensorRT does not describe."""
    return bool(_FOREIGN.match(layer.name.strip())) or layer.layer_type.lower() == "myelin"


def map_layers(layers: list[LayerInfo], onnx_nodes: list[str]) -> LayerMap:
    """Maps every engine layer to ONNX node names.

    Args:
        layers: parsed inspector layers, in engine order.
        onnx_nodes: node names of the annotated model, in graph (topological) order.

    Returns:
        LayerMap with both directions.
    """
    position = {n: i for i, n in enumerate(onnx_nodes)}
    myelin_names = _myelin_index(onnx_nodes)
    result: list[LayerNodes] = []
    regions: list[tuple[LayerNodes, int, int]] = []
    for layer in layers:
        ln = LayerNodes(layer.index, opaque=is_opaque(layer))
        known = [n for n in layer.metadata_nodes if n in position]
        kind, names = parse_layer_name(layer.name)
        if known:
            ln.nodes, ln.how = known, "metadata"
        elif kind == "reformat":
            ln.how = "reformat"
        elif kind == "region":
            ends = [position[n] for n in names if n in position]
            if ends:
                lo, hi = min(ends), max(ends)
                ln.nodes, ln.how = [onnx_nodes[i] for i in sorted(set(ends))], "region"
                regions.append((ln, lo, hi))
        elif kind == "fused":
            found = [n for n in names if n in position]
            if found:
                ln.nodes, ln.how = found, "fused-name"
        elif layer.name in position:
            ln.nodes, ln.how = [layer.name], "name"
        else:
            node = myelin_names.get(_MYELIN_SUFFIX.sub("", layer.name).replace(".", "_"))
            if node and _MYELIN_SUFFIX.search(layer.name):
                ln.nodes, ln.how = [node], "myelin-name"
        result.append(ln)
    # Region interiors last: only nodes no other layer names explicitly.
    claimed = {n for ln in result if ln.how not in ("region", "unmapped", "reformat") for n in ln.nodes}
    for ln, lo, hi in regions:
        inside = [onnx_nodes[i] for i in range(lo, hi + 1) if onnx_nodes[i] not in claimed]
        ln.nodes = sorted(set(ln.nodes) | set(inside), key=position.__getitem__)
    by_node: dict[str, list[int]] = {}
    for ln in result:
        for n in ln.nodes:
            by_node.setdefault(n, []).append(ln.layer)
    return LayerMap(result, by_node)


def _myelin_index(onnx_nodes: list[str]) -> dict[str, str]:
    """Myelin-normalized node name ('.' -> '_') -> node, for names that stay unique."""
    index: dict[str, str] = {}
    clashes = set()
    for n in onnx_nodes:
        key = n.replace(".", "_")
        if key in index:
            clashes.add(key)
        index[key] = n
    return {k: v for k, v in index.items() if k not in clashes}
