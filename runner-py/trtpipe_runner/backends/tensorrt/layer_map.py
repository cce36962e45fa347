"""Engine layers -> the ONNX nodes they came from, or why a layer has none.

Evidence, strongest first:
1. `Metadata` (DETAILED verbosity): the ONNX parser tags every layer it
   creates with "[ONNX Layer: <node>]" and TensorRT joins the tags of fused
   layers, Myelin kernels included (onnx-tensorrt `processMetadata`).
2. The layer name (layer_names.py): node names, fusions, Myelin regions
   ("{ForeignNode[first...last]}": nodes between the ends in graph order that
   no other layer names are attributed to the region) and Myelin sub-layers
   ("<node with . as _>_myl<a>_<b>").
3. Weights: a constant layer named after an initializer ("onnx::Conv_507",
   Myelin clones "..._clone_1") holds data for the nodes that read it.
Layers that belong to no node say why (`how`): reformat (layout/type
conversion TensorRT added), myelin-move (a Myelin data move), myelin-kernel
(a generated kernel the engine gives no metadata for), myelin-shape (shape
bookkeeping on Myelin's internal tensors), myelin-control (Myelin control
flow), internal (a layer the parser or builder added), or unmapped (none of
the above: a name trtpipe cannot read).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .inspector import LayerInfo
from .layer_names import ParsedName, myelin_key, parse_layer_name, strip_clone

# `how` values of layers that carry no computation of their own: explain does
# not read a node's precision from them.
DATA_LAYERS = ("weights",)
_AROUND = re.compile(r"^[a-z]+(?:_node)?_(?:after|before)_(.+)$")
# `how` values that explain why a layer has no ONNX node.
NO_NODE = ("reformat", "myelin-move", "myelin-kernel", "myelin-shape", "myelin-control", "internal")


@dataclass
class LayerNodes:
    """The ONNX nodes one engine layer covers, and how that was established."""

    layer: int
    nodes: list[str] = field(default_factory=list)
    # metadata | name | fused-name | region | myelin-name | weights | tensor | one of NO_NODE | unmapped
    how: str = "unmapped"
    opaque: bool = False  # a Myelin region: types inside it are not reported


@dataclass
class LayerMap:
    by_layer: list[LayerNodes]
    by_node: dict[str, list[int]]  # node -> layer indices, in engine order

    def unmapped(self) -> list[int]:
        """Layers with neither ONNX nodes nor a reason to have none."""
        return [ln.layer for ln in self.by_layer if ln.how == "unmapped"]


@dataclass
class GraphIndex:
    """What the mapping needs to know about the ONNX graph."""

    nodes: list[str]  # node names in graph (topological) order
    position: dict[str, int] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)  # myelin_key(node) -> node, unique keys only
    producer: dict[str, str] = field(default_factory=dict)  # tensor -> node
    consumers: dict[str, list[str]] = field(default_factory=dict)  # tensor -> nodes
    initializers: set[str] = field(default_factory=set)
    constants: set[str] = field(default_factory=set)  # outputs of Constant nodes

    @classmethod
    def of(cls, model_or_names) -> "GraphIndex":
        """From an onnx.ModelProto, or from bare node names (no tensors known)."""
        if isinstance(model_or_names, (list, tuple)):
            index = cls(list(model_or_names))
        else:
            g = model_or_names.graph
            index = cls([n.name for n in g.node], initializers={i.name for i in g.initializer})
            for n in g.node:
                for t in n.output:
                    index.producer[t] = n.name
                    if n.op_type == "Constant":
                        index.constants.add(t)
                for t in n.input:
                    if t:
                        index.consumers.setdefault(t, []).append(n.name)
        index.position = {n: i for i, n in enumerate(index.nodes)}
        clashes: set[str] = set()
        for n in index.nodes:
            key = myelin_key(n)
            if key in index.by_key:
                clashes.add(key)
            index.by_key[key] = n
        index.by_key = {k: v for k, v in index.by_key.items() if k not in clashes}
        return index

    def node_for(self, name: str) -> str | None:
        """The node a name in a layer name means: itself, or its Myelin form."""
        if name in self.position:
            return name
        return self.by_key.get(myelin_key(name))

    def is_weights(self, name: str) -> bool:
        """A constant: an initializer or the output of a Constant node (possibly a Myelin clone)."""
        base = strip_clone(name)
        return base in self.initializers or base in self.constants

    def weights_for(self, name: str) -> list[str]:
        """The nodes that read the constant a weights layer is named after."""
        return list(self.consumers.get(strip_clone(name), []))


def map_layers(layers: list[LayerInfo], graph) -> LayerMap:
    """Maps every engine layer to ONNX node names (or a reason it has none).

    Args:
        layers: parsed inspector layers, in engine order.
        graph: the annotated onnx.ModelProto, or its node names in graph order.

    Returns:
        LayerMap with both directions.
    """
    index = graph if isinstance(graph, GraphIndex) else GraphIndex.of(graph)
    result: list[LayerNodes] = []
    regions: list[tuple[LayerNodes, int, int]] = []
    for layer in layers:
        parsed = parse_layer_name(layer.name)
        ln = LayerNodes(layer.index, opaque=parsed.kind == "region" or layer.layer_type.lower() == "myelin")
        known = [n for n in layer.metadata_nodes if n in index.position]
        if known:
            ln.nodes, ln.how = known, "metadata"
        else:
            _from_name(ln, parsed, layer, index)
            if ln.how == "region":
                ends = [index.position[n] for n in ln.nodes]
                regions.append((ln, min(ends), max(ends)))
        result.append(ln)
    # Region interiors last: only nodes no other layer names explicitly.
    claimed = {n for ln in result if ln.how not in ("region", "weights") for n in ln.nodes}
    for ln, lo, hi in regions:
        inside = [index.nodes[i] for i in range(lo, hi + 1) if index.nodes[i] not in claimed]
        ln.nodes = sorted(set(ln.nodes) | set(inside), key=index.position.__getitem__)
    by_node: dict[str, list[int]] = {}
    for ln in result:
        for n in ln.nodes:
            by_node.setdefault(n, []).append(ln.layer)
    return LayerMap(result, by_node)


def _from_name(ln: LayerNodes, parsed: ParsedName, layer: LayerInfo, index: GraphIndex) -> None:
    """Fills `ln` from the layer name when the metadata named no node of this graph."""
    whole = layer.name.strip()
    if whole in index.position:  # a node name that merely looks like a fusion or a Myelin name
        ln.nodes, ln.how = [whole], "name"
        return
    if parsed.kind in NO_NODE:
        ln.how = parsed.kind
        return
    if parsed.kind == "region":
        nodes = _resolve(parsed.parts, index)
        if nodes:
            ln.nodes, ln.how = nodes, "region"
        return
    if parsed.kind == "copy":
        producer = index.producer.get(parsed.parts[0])
        ln.nodes, ln.how = ([producer], "tensor") if producer else ([], "internal")
        return
    nodes = _resolve(parsed.parts, index) or _resolve(tuple(_around(p) for p in parsed.parts), index)
    if nodes:
        exact = not parsed.myelin and all(p in index.position for p in parsed.parts if index.node_for(p))
        ln.nodes = nodes
        ln.how = ("fused-name" if parsed.kind == "fused" else "name") if exact else "myelin-name"
        return
    if parsed.parts and all(index.is_weights(p) for p in parsed.parts):
        readers = {n for p in parsed.parts for n in index.weights_for(p)}
        ln.nodes, ln.how = sorted(readers, key=index.position.__getitem__), "weights"


def _around(name: str) -> str:
    """"reshape_after_Gemm_48" -> "Gemm_48": a shuffle TensorRT added around a node belongs to it."""
    m = _AROUND.match(name)
    return m.group(1) if m else ""


def _resolve(parts: tuple[str, ...], index: GraphIndex) -> list[str]:
    seen: list[str] = []
    for p in parts:
        node = index.node_for(p) if p else None
        if node and node not in seen:
            seen.append(node)
    return seen

