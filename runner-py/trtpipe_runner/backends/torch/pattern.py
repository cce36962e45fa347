"""What the pattern fusions read of a node list: producers, consumers, constants, host tensors.

A fusion replaces a group of nodes by one; it may only do so when every
intermediate it removes is read by the group alone (`uses`), which is why
graph outputs count as extra readers here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fold import NOT_FOLDABLE
from .graph import Node, op_def


def host_tensors(nodes: list[Node], consts: dict[str, Any]) -> set[str]:
    """Tensors computed from shapes and constants only: small, CPU-side, fixed per input shapes."""
    host: set[str] = set()
    for node in nodes:
        opdef = op_def(node.op_type)
        if node.op_type in ("Shape", "Size"):
            host.update(t for t in node.outputs if t)
        elif opdef is not None and not opdef.data_dependent and node.op_type not in NOT_FOLDABLE and \
                all(not t or t in consts or t in host for t in node.inputs):
            host.update(t for t in node.outputs if t)
    return host


@dataclass
class Note:
    """Why a node that looked fusable runs as written (or runs differently than its type says)."""

    reason: str
    detail: str


@dataclass
class Index:
    """Producers and consumers of every tensor of a node list (positions in `nodes`)."""

    nodes: list[Node]
    consts: dict[str, Any]
    outputs: list[str]
    producer: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, list[int]] = field(default_factory=dict)
    host: set[str] = field(default_factory=set)

    def __post_init__(self):
        for i, node in enumerate(self.nodes):
            for t in node.outputs:
                if t:
                    self.producer[t] = i
            for t in node.inputs:
                if t:
                    self.consumers.setdefault(t, []).append(i)
        self.host = host_tensors(self.nodes, self.consts)

    def uses(self, tensor: str) -> int:
        """How many node inputs read `tensor`; a graph output counts as many readers."""
        return len(self.consumers.get(tensor, [])) + (1000 if tensor in self.outputs else 0)

    def made_by(self, tensor: str, *op_types: str) -> int | None:
        """The producer's position when it is one of `op_types`, else None."""
        i = self.producer.get(tensor)
        return i if i is not None and self.nodes[i].op_type in op_types else None

    def only_reader(self, tensor: str) -> int | None:
        """The one node reading `tensor` (None when several, none, or a graph output)."""
        readers = self.consumers.get(tensor, [])
        return readers[0] if len(readers) == 1 and tensor not in self.outputs else None

    def scalar(self, name: str) -> float | None:
        """The value of a one-element float constant, else None."""
        value = self.consts.get(name)
        if value is None or value.numel() != 1 or not value.is_floating_point():
            return None
        return float(value.reshape(-1)[0].float().item())

    def static(self, name: str) -> bool:
        """Known before the device runs: a constant, or host arithmetic on shapes."""
        return name in self.consts or name in self.host


def other_input(node: Node, name: str) -> str:
    """The other input of a two-input node."""
    return node.inputs[1] if node.inputs[0] == name else node.inputs[0]


def rebuild(nodes: list[Node], replaced: dict[int, Node], dropped: set[int]) -> list[Node]:
    """The node list with `replaced` positions swapped for fused nodes and `dropped` ones removed."""
    return [replaced.get(i, n) for i, n in enumerate(nodes) if i not in dropped]
