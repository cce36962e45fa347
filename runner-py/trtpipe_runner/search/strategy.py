"""Which nodes to keep in high precision: bisection, then refinement.

Assumes monotonicity: keeping more nodes in high precision never makes a
candidate worse. Every set returned was evaluated and met the budget.

1. Everything high must meet the budget; otherwise precision is not the
   problem (the FP32 reference and the backend disagree) and the search stops.
2. Everything low meeting the budget ends the search at once.
3. Start from the safety-rule prior (nodes the safety rules keep); if it does
   not meet the budget, bisect the remaining candidates in topological order:
   keep a half high; if that meets the budget recurse into it, otherwise split
   the work between both halves (delta debugging on the kept set).
4. Refinement: try lowering each kept node again, cheapest first; drop it from
   the kept set while the budget holds. The error each trial shows is the
   node's sensitivity (its damage when lowered with the rest as found).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..errors import UserError
from .budget import Budget


class OutOfEvaluations(Exception):
    pass


@dataclass
class SearchOutcome:
    kept: list[str]
    metrics: dict[str, float]
    blanket: dict[str, float]
    all_high: dict[str, float]
    prior: list[str]
    prior_metrics: dict[str, float] | None
    sensitivity: dict[str, float] = field(default_factory=dict)
    trace: list[dict] = field(default_factory=list)
    exhausted: bool = False


def search(evaluate: Callable[[frozenset], dict[str, float]], budget: Budget, candidates: list[str],
           prior: set[str], max_evaluations: int, progress=None) -> SearchOutcome:
    order = {n: i for i, n in enumerate(candidates)}
    trace: list[dict] = []
    calls = 0

    def passes(kept: frozenset) -> bool:
        nonlocal calls
        if calls >= max_evaluations and kept not in _seen:
            raise OutOfEvaluations()
        calls += kept not in _seen
        _seen.add(kept)
        m = evaluate(kept)
        misses = budget.misses(m)
        trace.append({"kept": len(kept), "passes": not misses, "misses": misses, "cosine": m.get("cosine")})
        if progress:
            progress(calls, len(kept), not misses)
        return not misses

    _seen: set[frozenset] = set()
    everything = frozenset(candidates)
    all_high = evaluate(everything)
    if budget.misses(all_high):
        raise UserError(
            "the budget cannot be met even with every node in fp32 ("
            + "; ".join(budget.misses(all_high))
            + "): the backend's fp32 result already differs from the FP32 reference that much, so this is "
            "not a precision problem; check the reference run or loosen the budget", code="BUDGET_UNREACHABLE")
    _seen.add(everything)
    blanket = evaluate(frozenset())
    trace.append({"kept": 0, "passes": budget.holds(blanket), "misses": budget.misses(blanket), "cosine": blanket.get("cosine")})
    _seen.add(frozenset())
    prior_set = frozenset(n for n in prior if n in order)
    prior_metrics = evaluate(prior_set) if prior_set else None
    if budget.holds(blanket):
        return SearchOutcome([], blanket, blanket, all_high, sorted(prior_set, key=order.get), prior_metrics, trace=trace)

    exhausted = False
    try:
        if prior_set and passes(prior_set):
            kept = set(prior_set)
        else:
            rest = [n for n in candidates if n not in prior_set]
            kept = set(prior_set) | _find(passes, frozenset(prior_set), rest)
    except OutOfEvaluations:
        exhausted = True
        kept = set(candidates)  # the only set known to pass

    sensitivity: dict[str, float] = {}
    if not exhausted:
        try:
            for node in sorted(kept, key=lambda n: -order[n]):
                trial = frozenset(kept - {node})
                ok = passes(trial)
                sensitivity[node] = budget.error(evaluate(trial))
                if ok:
                    kept.discard(node)
        except OutOfEvaluations:
            exhausted = True
    final = frozenset(kept)
    metrics = evaluate(final)
    if budget.misses(metrics):  # cannot happen under monotonicity; never return a failing set
        kept, metrics = set(candidates), all_high
    return SearchOutcome(sorted(kept, key=order.get), metrics, blanket, all_high, sorted(prior_set, key=order.get),
                         prior_metrics, sensitivity, trace, exhausted)


def _find(passes, base: frozenset, pool: list[str]) -> set[str]:
    """A small subset S of `pool` with passes(base | S), given passes(base | pool)."""
    if not pool:
        return set()
    if len(pool) == 1:
        return set(pool)
    half = len(pool) // 2
    a, b = pool[:half], pool[half:]
    if passes(base | frozenset(a)):
        return _find(passes, base, a)
    if passes(base | frozenset(b)):
        return _find(passes, base, b)
    found_a = _find(passes, base | frozenset(b), a)
    found_b = _find(passes, base | frozenset(found_a), b)
    return found_a | found_b
