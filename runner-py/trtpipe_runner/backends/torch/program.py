"""The converted model: constants folded, patterns fused, nodes compiled into a plan.

A plan is a flat list of steps (callable, input refs, output names) turned
into one generated Python function with local variables, so a run costs one
call per kernel-launching node and nothing else: attributes, constant
inputs and device placement are resolved when the plan is built.

Shape arithmetic (Shape -> Gather -> Concat -> Reshape, which exporters write
for every dynamic reshape) is "host" work on small int64 tensors. The generic
plan computes it on the CPU each run; after the first run with a given set of
input shapes, a plan specialized to those shapes gets the results baked in,
so it launches only device kernels, never waits for the device and can be
captured in a CUDA graph. Graphs whose shapes depend on data (NonZero, or a
Reshape whose target is computed on the device) keep the generic plan.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import onnx

from .compile_node import compile_node
from .fold import fold_constants
from .fusion import fuse
from .fusion_attention import ATTENTION
from .graph import Graph, Node, op_def, read_graph
from .ops.qgemm import QGEMM
from .pattern import Note, host_tensors

MAX_SPECIALIZED = 8  # plans kept per program (one per distinct set of input shapes)


@dataclass
class Step:
    node: Node
    fn: Callable
    inputs: list[str]  # Python expressions (variable names or None)
    outputs: list[str]  # variable names; "_" for outputs nobody reads


@dataclass
class Plan:
    steps: list[Step]
    source: str
    run: Callable  # (*feeds) -> (outputs tuple, host frontier tuple)
    frontier: list[str] = field(default_factory=list)
    compiled: bool = False  # run is the Inductor-compiled function (inductor.py)


@dataclass
class Prepared:
    """The device-independent part of a conversion (what explain reads)."""

    graph: Graph
    nodes: list[Node]  # left to run, fused where fusion applied
    consts: dict[str, Any]  # CPU tensors: initializers and folded values
    folded: list[str]  # names of nodes evaluated at load time
    fused: list[Node]  # the fused nodes among `nodes`
    notes: dict[str, Note] = field(default_factory=dict)  # node name -> why a fusable-looking pattern was not


def compute_capability(device: str) -> tuple[int, int] | None:
    """The CUDA device's compute capability, None for the CPU or when no GPU is visible."""
    if not device.startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    return tuple(torch.cuda.get_device_capability(torch.device(device)))


def prepare(model: onnx.ModelProto, fuse_patterns: bool = True, device: str = "cuda") -> Prepared:
    """Reads, checks, folds and (optionally) fuses the graph on the CPU, for kernels of `device`."""
    graph = read_graph(model, device)
    nodes, consts, folded = fold_constants(graph)
    notes: dict[str, Note] = {}
    if fuse_patterns:
        nodes = fuse(nodes, consts, graph, notes, device, compute_capability(device))
    return Prepared(graph, nodes, consts, folded, [n for n in nodes if n.fused_from], notes)


class Program:
    """An ONNX model compiled for one torch device.

    Args:
        model: the (annotated) ONNX model.
        device: a torch device ("cuda", "cuda:1", "cpu").
        fuse_patterns: apply fusion.py's pattern fusions.
        compile_plans: compile specialized plans with TorchInductor (inductor.py).
    """

    def __init__(self, model: onnx.ModelProto, device: str = "cuda", fuse_patterns: bool = True,
                 compile_plans: bool = False):
        import torch

        self.device = torch.device(device)
        self.compile_plans = compile_plans
        prepared = prepare(model, fuse_patterns, str(self.device))
        self.graph, self.consts, self.folded = prepared.graph, prepared.consts, prepared.folded
        self.fused = prepared.fused
        self.nodes = prepared.nodes
        self.input_names = [s.name for s in self.graph.inputs]
        self.host = host_tensors(self.nodes, self.consts)
        self.specializable = self._can_specialize()
        self._device_consts: dict[str, Any] = {}
        self._host_refs: set[str] = set()  # constants some step reads on the CPU
        self.generic = self._build_plan({})
        self._plans: OrderedDict[tuple, Plan] = OrderedDict()
        self._drop_large_host_copies()

    # ------------------------------------------------------------ analysis
    def _can_specialize(self) -> bool:
        for node in self.nodes:
            opdef = op_def(node.op_type)
            if opdef.data_dependent:
                return False
            if node.outputs and node.outputs[0] in self.host:
                continue
            for slot in opdef.shape_inputs:
                t = node.inputs[slot] if slot < len(node.inputs) else ""
                if t and t not in self.consts and t not in self.host:
                    return False  # a shape computed on the device from data
        return True

    def _device_const(self, name: str):
        value = self._device_consts.get(name)
        if value is None:
            value = self.consts[name].to(self.device)
            self._device_consts[name] = value
        return value

    def _drop_large_host_copies(self) -> None:
        """Frees the CPU copies of large constants no step reads on the CPU: weights live on the
        device, and weights replaced by folding or fusion are not needed at all. Plans specialized
        later read a subset of the generic plan's constants, so nothing dropped is asked for again."""
        for name, value in list(self.consts.items()):
            if name not in self._host_refs and value.numel() > 4096:
                self.consts[name] = value.to("meta")  # shape and dtype stay readable

    # ------------------------------------------------------------ plans
    def _build_plan(self, host_values: dict[str, Any]) -> Plan:
        """Compiles the nodes that are not known yet into a Plan.

        Args:
            host_values: host tensors already computed for the current input
                shapes (empty for the generic plan).
        """
        known = dict(self.consts)
        known.update(host_values)
        outputs = self.graph.outputs
        needed = {t for t in outputs if t not in known}
        running: list[Node] = []
        for node in reversed(self.nodes):
            if any(t in needed for t in node.outputs) and not all(not t or t in known for t in node.outputs):
                running.append(node)
                needed.update(t for t in node.inputs if t and t not in known)
        running.reverse()

        namespace: dict[str, Any] = {"_dev": self.device}
        var: dict[str, str] = {}
        for i, name in enumerate(self.input_names):
            var[name] = f"i{i}"

        def const_ref(name: str, on_host: bool) -> tuple[str, Any]:
            if on_host:
                self._host_refs.add(name)
                value = known[name]
            elif name in host_values:
                value = host_values[name].to(self.device)
            else:
                value = self._device_const(name)
            key = f"{'h' if on_host else 'c'}{len(namespace)}"
            namespace[key] = value
            return key, value

        lines = [f"def plan({', '.join(var[n] for n in self.input_names)}):"]
        steps: list[Step] = []
        moved: dict[str, str] = {}
        last_use: dict[str, int] = {}
        for k, node in enumerate(running):
            for t in node.inputs:
                last_use[t] = k
        produced: set[str] = set()
        for k, node in enumerate(running):
            opdef = op_def(node.op_type)
            on_host = bool(node.outputs) and node.outputs[0] in self.host
            refs: list[str] = []
            consts: dict[int, Any] = {}
            for slot, t in enumerate(node.inputs):
                if not t:
                    refs.append("None")
                    continue
                host_slot = on_host or slot in opdef.shape_inputs or slot in opdef.meta_inputs
                if t in known:
                    ref, value = const_ref(t, host_slot)
                    consts[slot] = value
                    refs.append(ref)
                elif t in self.host and not host_slot:
                    if t not in moved:
                        moved[t] = f"{var[t]}_d"
                        lines.append(f"    {moved[t]} = {var[t]}.to(_dev)")
                    refs.append(moved[t])
                else:
                    refs.append(var[t])
            fn = compile_node(self.graph, node, consts, "cpu" if on_host else self.device)
            namespace[f"f{k}"] = fn
            outs = list(node.outputs)
            while len(outs) > 1 and not outs[-1]:
                outs.pop()
            names = []
            for t in outs:
                if t:
                    var[t] = f"v{len(var)}"
                    names.append(var[t])
                    produced.add(t)
                else:
                    names.append("_")
            target = names[0] if len(names) == 1 else ", ".join(names)
            lines.append(f"    {target} = f{k}({', '.join(refs)})")
            dead = [t for t in node.inputs if t and last_use.get(t) == k and t in produced and t not in outputs
                    and t not in self.host]
            for t in dict.fromkeys(dead):
                lines.append(f"    del {var[t]}")
            steps.append(Step(node, fn, refs, names))

        # Every host tensor the generic plan computes comes back with its
        # outputs, to be baked into the plan specialized to these shapes.
        frontier = sorted(t for t in self.host if t in produced) if not host_values else []
        out_refs = []
        for t in outputs:
            if t in var:
                out_refs.append(var[t])
            else:
                out_refs.append(const_ref(t, True)[0])
        lines.append(f"    return ({''.join(r + ', ' for r in out_refs)}), "
                     f"({''.join(var[t] + ', ' for t in frontier)})")
        source = "\n".join(lines) + "\n"
        exec(compile(source, "<trtpipe torch plan>", "exec"), namespace)  # noqa: S102 - our own generated code
        return Plan(steps, source, namespace["plan"], frontier)

    def plan_for(self, feeds: list) -> Plan:
        """The specialized plan for these input shapes, if built already; else the generic one."""
        key = tuple(tuple(f.shape) for f in feeds)
        plan = self._plans.get(key)
        return plan if plan is not None else self.generic

    def run(self, feeds: list) -> list:
        """One inference on device tensors (in graph input order); returns outputs in graph order.

        The first run with new input shapes goes through the generic plan and
        records the host values a specialized plan needs.
        """
        key = tuple(tuple(f.shape) for f in feeds)
        plan = self._plans.get(key)
        if plan is not None:
            if self.compile_plans and not plan.compiled:  # its second use: worth compiling (inductor.py)
                from .inductor import compiled

                plan.run, plan.compiled = compiled(plan.run), True
            return list(plan.run(*feeds)[0])
        outs, frontier = self.generic.run(*feeds)
        if self.specializable:
            plan = self._build_plan(dict(zip(self.generic.frontier, frontier)))
            self._plans[key] = plan
            if len(self._plans) > MAX_SPECIALIZED:
                self._plans.popitem(last=False)
        return list(outs)

    def summary(self) -> dict:
        """Counts for the build record: what was folded, fused and is left to run."""
        return {
            "nodes": len(self.graph.nodes),
            "folded_at_load": len(self.folded),
            "fused_nodes": sum(len(n.fused_from) for n in self.fused),
            "fused_into": len(self.fused),
            "steps_generic": len(self.generic.steps),
            "host_tensors": len(self.host),
            "specializable": self.specializable,
            "fused_attention": sum(1 for n in self.fused if n.op_type == ATTENTION),
            "quantized_gemms": sum(1 for n in self.fused if n.op_type == QGEMM),
            "runtime_fallbacks": self.runtime_fallbacks(),
        }

    def runtime_fallbacks(self) -> dict[str, str]:
        """Fused nodes that ran their pattern as written because the operands did not fit the
        kernel at run time, with why (node name -> reason)."""
        out = {}
        for plan in [self.generic, *self._plans.values()]:
            for step in plan.steps:
                reason = getattr(step.fn, "fallback_reason", "")
                if reason:
                    out[step.node.name] = reason
        return out
