"""Resolving a precision policy into one decision per ONNX node.

Order of resolution for every node (documented in docs/precision.md):
1. `default` precision, reason POLICY_DEFAULT;
2. `rules` in file order; the LAST rule that matches wins (general rules
   first, exceptions after, as in .gitignore), reason POLICY_RULE;
3. safety rules (INIT_OVERFLOW, RANGE_OVERFLOW, ...) move nodes the default
   placed in a low precision back to fp32; nodes a rule pinned are never moved;
4. what the graph can express: a node whose op has no FP16/BF16 variant at the
   model's opset, or that states its own output type, stays fp32;
5. a precision search's kept nodes (SEARCH_FALLBACK): a node the steps above
   lowered, that no rule placed, goes back to fp32. Applied last and the same
   way for every precision, int8/fp8 included, so the search, the lockfile
   and the run agree (apply_search_keep).

A rule that matches no node is an error naming the closest names/op types.
"""
from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..calibration.ranges import QUANTIZABLE_OPS, is_activation_matmul
from ..contract.stages import Policy as ContractPolicy
from ..contract.vocabulary import (
    INIT_OVERFLOW,
    NO_FLOAT_MATH,
    NOT_QUANTIZABLE,
    POLICY_DEFAULT,
    POLICY_RULE,
    RANGE_OVERFLOW,
    REDUCTION_DEPTH,
    SEARCH_FALLBACK,
)
from ..errors import UserError
from ..model.load import opset_version
from ..model.tensors import tensor_types
from .op_support import does_float_math, first_opset_supporting, plan_lowering
from .reduction import all_reduction_depths
from .types import ELEM_TYPE, LOWERED, NOT_FLOAT, QUANTIZED, is_low


@dataclass
class Rule:
    index: int
    use: str
    ops: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # globs, full match
    regexes: list[str] = field(default_factory=list)
    why: str = ""

    def matches(self, node) -> bool:
        if self.ops and node.op_type not in self.ops:
            return False
        if self.names and not any(fnmatch.fnmatchcase(node.name, g) for g in self.names):
            return False
        if self.regexes and not any(re.search(r, node.name) for r in self.regexes):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.ops:
            parts.append("op " + "|".join(self.ops))
        if self.names:
            parts.append("name " + "|".join(self.names))
        if self.regexes:
            parts.append("name_regex " + "|".join(self.regexes))
        return f"rules[{self.index}] ({', '.join(parts)} -> {self.use})"


@dataclass
class Safety:
    """precision.safety; None turns a rule off. No defaults here: the pipeline's normalization
    has them (src/config/normalize.ts), the stage contract requires all three."""

    init_max: float | None
    data_max: float | None
    reduction_depth: int | None


@dataclass
class Policy:
    default: str
    io: str
    rules: list[Rule]
    safety: Safety
    # The float precision int8/fp8 policies run the nodes they do not quantize in (and the
    # quantized nodes' own float math, behind their DequantizeLinear): precision.unquantized.
    unquantized: str
    # Nodes a precision search kept in fp32 to meet its budget (SEARCH_FALLBACK).
    search_keep: set[str] = field(default_factory=set)


@dataclass
class NodeDecision:
    """One lockfile row: what was asked for a node, what it got, and why."""

    node: str
    op: str
    requested: str
    resolved: str
    reason: str
    rule: int | None = None
    detail: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        if d["rule"] is None:
            del d["rule"]
        if not d["detail"]:
            del d["detail"]
        return d


def parse_policy(params: ContractPolicy | dict, search_keep: list[str] | None = None) -> Policy:
    """Builds a Policy from a stage's policy params (the pipeline's `precision`, default set).

    Args:
        params: the checked params (contract.stages.Policy); a dict is checked first, so a
            missing key (safety, say) is a UserError naming it, never a guess.
        search_keep: nodes a search result keeps in fp32 (replaces params.search_keep).
    """
    if isinstance(params, dict):
        params = ContractPolicy.parse(params, "policy")
    rules = []
    for i, r in enumerate(params.rules):
        m = r.match
        rule = Rule(i, r.use, list(m.op or []), list(m.name or []), list(m.name_regex or []), r.why or "")
        for rx in rule.regexes:
            try:
                re.compile(rx)
            except re.error as exc:
                raise UserError(f"precision.rules[{i}].match.name_regex: invalid regex {rx!r} ({exc})",
                                code="BAD_RULE") from None
        rules.append(rule)
    s = params.safety
    safety = Safety(init_max=s.init_max, data_max=s.data_max, reduction_depth=s.reduction_depth)
    keep = search_keep if search_keep is not None else params.search_keep or []
    return Policy(default=params.default, io=params.io, rules=rules, safety=safety, unquantized=params.unquantized,
                  search_keep=set(keep))


def resolve(model, policy: Policy, ranges: dict[str, float] | None = None) -> list[NodeDecision]:
    """One NodeDecision per node, in graph order.

    Args:
        model: the FP32 model, nodes named (model.load.load_model).
        policy: the parsed policy.
        ranges: max |value| per tensor from the FP32 reference run, for data_max.
    """
    _check_rules_match(model, policy.rules)
    types = tensor_types(model)
    opset = opset_version(model)
    inits = {i.name: i for i in model.graph.initializer}
    depths = all_reduction_depths(model) if policy.safety.reduction_depth else {}
    decisions = []
    too_old: list[tuple[str, str, int]] = []
    for node in model.graph.node:
        requested, reason, rule = policy.default, POLICY_DEFAULT, None
        for r in policy.rules:
            if r.matches(node):
                requested, reason, rule = r.use, POLICY_RULE, r.index
        d = NodeDecision(node.name, node.op_type, requested, requested, reason, rule)
        if not does_float_math(node, types):
            d.resolved, d.reason = NOT_FLOAT, NO_FLOAT_MATH
        elif requested in QUANTIZED:
            if node.op_type not in QUANTIZABLE_OPS:
                d.resolved, d.reason = "fp32", NOT_QUANTIZABLE
                d.detail = f"{requested} applies to {', '.join(QUANTIZABLE_OPS)}"
            elif rule is None and is_activation_matmul(node, inits):
                d.resolved, d.reason = "fp32", NOT_QUANTIZABLE
                d.detail = (f"a MatMul of two activations (attention) is not quantized by default: a rule "
                            f"placing it in {requested} quantizes both operands per tensor (docs/precision.md)")
            if d.reason == NOT_QUANTIZABLE:
                _place_unquantized(d, node, types, opset, inits, policy, ranges, depths.get(node.name))
        elif is_low(requested):
            _place_low(d, node, types, opset, inits, policy.safety, ranges, pinned=rule is not None,
                       depth=depths.get(node.name))
            if d.reason == "UNSUPPORTED_TYPE":
                newer = first_opset_supporting(node, ELEM_TYPE[requested], types, opset)
                if newer is not None:
                    too_old.append((node.name, node.op_type, newer))
        decisions.append(d)
    if too_old:
        needed = max(n for _, _, n in too_old)
        listing = ", ".join(f"'{name}' ({op}, needs opset {n})" for name, op, n in too_old[:4])
        more = f" and {len(too_old) - 4} more" if len(too_old) > 4 else ""
        precision = next(d.requested for d in decisions if d.node == too_old[0][0])
        raise UserError(
            f"{precision}: {len(too_old)} node(s) cannot compute in {precision} at the model's opset {opset}: "
            f"{listing}{more}. Set precision.opset: {needed} to convert the model first, "
            f"or keep these nodes in fp32 with a rule",
            code="OPSET_TOO_OLD", node=too_old[0][0])
    return apply_search_keep(decisions, policy.search_keep)


def apply_search_keep(decisions: list[NodeDecision], keep) -> list[NodeDecision]:
    """The decisions with the search's kept nodes moved back to fp32 (SEARCH_FALLBACK).

    Only a node that resolved to its requested low precision and that no rule
    placed moves: a rule is the user's decision, and a node the policy already
    keeps wider keeps its own reason. The search evaluates candidates with this
    same function, so what it measured is what the transform writes.
    """
    keep = set(keep)
    if not keep:
        return decisions
    out = []
    for d in decisions:
        if d.node in keep and lowered_by_policy(d):
            d = replace(d, resolved="fp32", reason=SEARCH_FALLBACK,
                        detail="kept in fp32 by the precision search to meet the accuracy budget")
        out.append(d)
    return out


def lowered_by_policy(d: NodeDecision) -> bool:
    """True for a node the policy's default lowered (what a search may move back to fp32)."""
    return d.rule is None and d.resolved == d.requested and d.requested in LOWERED


def unmatched_search_keep(decisions: list[NodeDecision], keep) -> list[str]:
    """Kept nodes the search result names that the policy does not lower (a stale result)."""
    lowered = {d.node for d in decisions if d.reason == SEARCH_FALLBACK or lowered_by_policy(d)}
    return sorted(set(keep) - lowered)


def _place_unquantized(d: NodeDecision, node, types, opset, inits, policy: Policy, ranges, depth) -> None:
    """A node an int8/fp8 policy does not quantize runs in `precision.unquantized` (fp16 under
    TensorRT, what `trtexec --int8 --fp16` and ModelOpt's high_precision_dtype give), unless a safety
    rule or the op's schema keeps it in fp32. The reason stays NOT_QUANTIZABLE; the detail says where
    it runs. Safety rules apply even to nodes a rule asked int8 for: the rule asked for int8, not fp16."""
    why = d.detail
    if not is_low(policy.unquantized):
        d.detail = f"{why}; {node.op_type} runs in fp32 (precision.unquantized: {policy.unquantized})"
        return
    low = NodeDecision(d.node, d.op, policy.unquantized, policy.unquantized, d.reason)
    _place_low(low, node, types, opset, inits, policy.safety, ranges, pinned=False, depth=depth)
    if low.resolved == policy.unquantized:
        d.resolved = policy.unquantized
        d.detail = f"{why}; {node.op_type} runs in {policy.unquantized} (precision.unquantized)"
    else:  # a safety rule or the op's schema keeps it wider: that is the reason to show
        d.reason, d.detail = low.reason, f"{low.detail} (not quantized: {why})"


def _place_low(d: NodeDecision, node, types, opset, inits, safety: Safety, ranges, pinned: bool,
               depth: int | None = None) -> None:
    plan = plan_lowering(node, ELEM_TYPE[d.requested], types, opset)
    if not plan.ok:
        d.resolved, d.reason, d.detail = "fp32", plan.reason, plan.detail
        return
    if safety.init_max is not None:
        for name in node.input:
            init = inits.get(name)
            if init is not None and types.get(name) == 1:  # FLOAT
                peak = _abs_max(init)
                if peak > safety.init_max:
                    if pinned:  # the user's rule wins; say what it costs
                        d.detail = f"pinned by rule although initializer '{name}' reaches |{peak:.4g}| > init_max"
                        return
                    d.resolved, d.reason = "fp32", INIT_OVERFLOW
                    d.detail = f"initializer '{name}' reaches |{peak:.4g}| > init_max {safety.init_max:g}"
                    return
    if pinned:
        return
    if safety.reduction_depth is not None and depth is not None and depth > safety.reduction_depth:
        d.resolved, d.reason = "fp32", REDUCTION_DEPTH
        d.detail = f"reduces over {depth} values > reduction_depth {safety.reduction_depth}"
        return
    if safety.data_max is not None and ranges:
        for name in list(node.input) + list(node.output):
            peak = ranges.get(name)
            if peak is not None and peak > safety.data_max and name not in inits:
                d.resolved, d.reason = "fp32", RANGE_OVERFLOW
                d.detail = f"tensor '{name}' reaches |{peak:.4g}| > data_max {safety.data_max:g} in the FP32 reference"
                return


def _abs_max(init) -> float:
    from onnx import numpy_helper

    arr = numpy_helper.to_array(init)
    return float(np.abs(arr).max()) if arr.size else 0.0


def _check_rules_match(model, rules: list[Rule]) -> None:
    nodes = list(model.graph.node)
    names = [n.name for n in nodes]
    ops = sorted({n.op_type for n in nodes})
    for rule in rules:
        if any(rule.matches(n) for n in nodes):
            continue
        hints = []
        for op in rule.ops:
            if op not in ops:
                close = difflib.get_close_matches(op, ops, n=3)
                hints.append(f"op '{op}' is not in the model" + (f" (did you mean {_quote(close)}?)" if close else ""))
        for glob in rule.names:
            close = difflib.get_close_matches(glob, names, n=3, cutoff=0.4)
            hints.append(f"no node name matches '{glob}'" + (f" (closest: {_quote(close)})" if close else ""))
        if not hints:
            hints.append("its conditions never hold together")
        raise UserError(f"precision.{rule.describe()} matches no node: {'; '.join(hints)}",
                        code="RULE_MATCHES_NOTHING")


def _quote(items: list[str]) -> str:
    return ", ".join(f"'{i}'" for i in items)
