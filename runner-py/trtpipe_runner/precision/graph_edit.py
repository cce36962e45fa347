"""Placing new nodes in a graph so its node list stays topologically sorted."""
from __future__ import annotations

from ..errors import InternalError


def insert_after_producers(g, placed: dict[str, list], what: str) -> None:
    """Puts the nodes in `placed[tensor]` right after the node producing `tensor`.

    Nodes keyed by a graph input, an initializer, a tensor nothing produces,
    or "" go first. Raises InternalError if a node has nowhere to go (a bug).

    Args:
        g: the onnx GraphProto, edited in place.
        placed: tensor name -> nodes that read it (consumed: emptied).
        what: what the nodes are, for the error message ("casts", "Q/DQ").
    """
    produced = {o for n in g.node for o in n.output}
    up_front = {i.name for i in g.input} | {i.name for i in g.initializer}
    ordered = []
    for tensor in list(placed):
        if tensor == "" or tensor in up_front or tensor not in produced:
            ordered.extend(placed.pop(tensor))
    for node in g.node:
        ordered.append(node)
        for out in node.output:
            ordered.extend(placed.pop(out, []))
    if placed:
        raise InternalError(f"{what} left without a producer: {sorted(placed)}")
    del g.node[:]
    g.node.extend(ordered)
