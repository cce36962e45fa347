"""A candidate of the search: the pipeline's decisions with a set of nodes kept in fp32.

The decisions go through the transform's own functions (policy.apply_search_keep,
precision.apply.annotated_model), so a candidate is the graph the run builds when
the search result says to keep that set.

Ops that add no rounding error of their own (EXACT_OPS: moving, selecting,
comparing values) are not candidates: keeping one in high precision cannot
help by itself. But an exact op fed by a kept node would round that node's
output to the low type all the same, so it follows its inputs: it is kept with
them when every float input it reads is fp32 (`follow_kept`). The kept set the
search returns includes these followers, which is what the lockfile shows.
"""
from __future__ import annotations

from ..precision.apply import annotated_model
from ..precision.policy import apply_search_keep, lowered_by_policy
from ..precision.types import NOT_FLOAT

EXACT_OPS = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Split", "Concat", "Gather",
             "GatherElements", "GatherND", "Slice", "Identity", "Expand", "Tile", "Pad", "DepthToSpace",
             "SpaceToDepth", "Relu", "MaxPool", "Neg", "Abs", "Max", "Min", "Where", "Dropout"}


class CandidateGraph:
    """The graph the run builds for a kept set: decisions and annotated model."""

    def __init__(self, model, base: list, towards: str, keep_io: bool, amax: dict[str, float] | None,
                 per_channel: bool, smoothing: dict[str, list[float]] | None = None, *, unquantized: str):
        self.model = model
        self.unquantized = unquantized  # precision.unquantized, as the transform applies it
        self.base = base
        self.keep_io = keep_io
        self.amax = amax
        self.per_channel = per_channel
        self.smoothing = smoothing  # SmoothQuant factors, applied as the transform applies them
        self.candidates = [d.node for d in base if lowered_by_policy(d) and d.resolved == towards
                           and d.op not in EXACT_OPS]
        self.resolved = resolved = {d.node: d.resolved for d in base}
        producer = {o: n.name for n in model.graph.node for o in n.output}
        weights = {i.name for i in model.graph.initializer}
        graph_inputs = {i.name for i in model.graph.input} - weights
        # Per exact op the policy lowers: the nodes producing its float inputs, and whether
        # its other inputs are fp32 anyway (graph inputs kept fp32, nodes the policy keeps).
        self.followers: list[tuple[str, list[str], bool]] = []
        for node, d in zip(model.graph.node, base):
            if d.op not in EXACT_OPS or not lowered_by_policy(d) or d.resolved != towards:
                continue
            sources = [producer[t] for t in node.input if t in producer and resolved[producer[t]] != NOT_FLOAT]
            others_fp32 = all(t in producer or t in weights or (t in graph_inputs and keep_io)
                              for t in node.input if t)
            self.followers.append((node.name, sources, others_fp32))

    def follow_kept(self, kept: frozenset) -> frozenset:
        """`kept` plus the exact ops (in graph order) whose float inputs all come out of it in fp32."""
        out = set(kept)
        for node, sources, others_fp32 in self.followers:
            if others_fp32 and any(s in out for s in sources) and \
                    all(s in out or self.resolved[s] == "fp32" for s in sources):
                out.add(node)
        return frozenset(out)

    def decisions(self, kept: frozenset) -> list:
        return apply_search_keep(self.base, self.follow_kept(kept))

    def annotated(self, decisions: list):
        return annotated_model(self.model, decisions, self.keep_io, self.amax, self.per_channel, self.smoothing,
                               self.unquantized)[0]
