"""Which nodes to keep in high precision: bisection, then refinement.

Assumes monotonicity: keeping more nodes in high precision never makes a
candidate worse. Every set returned was evaluated and met the budget.

When `max_evaluations` runs out, the answer is the smallest set verified so
far (never "keep everything" while better sets were seen), with a bound on
how far from minimal it may be: every failing candidate F proves that a
passing set must keep a node outside F, so k failing candidates whose
complements are pairwise disjoint prove that at least k nodes are needed.

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

Given each candidate's measured impact (the localization: what its own error
does to the outputs), the ranked search (ranked.py) replaces steps 3 and 4.
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
    # Fewest nodes any set meeting the budget must keep, proven by the failing candidates.
    at_least: int = 0
    # Kept nodes that refinement did not get to try lowering (evaluation cap).
    untried: list[str] = field(default_factory=list)
    strategy: str = "bisection"


def trace_row(kept: int, misses: list[str], metrics: dict[str, float]) -> dict:
    """One trace entry (the contract's SearchTrial): how many candidates stayed fp32 and what missed."""
    row = {"kept": kept, "passes": not misses, "misses": misses}
    if metrics.get("cosine") is not None:
        row["cosine"] = metrics["cosine"]
    return row


class Trials:
    """Every evaluation of one search: the count against the cap, the smallest set that met the
    budget, the failing sets (for the lower bound) and the trace. Sets evaluated before are free."""

    def __init__(self, evaluate: Callable[[frozenset], dict[str, float]], budget: Budget, max_evaluations: int,
                 everything: frozenset, progress=None):
        self.evaluate, self.budget, self.max_evaluations, self.progress = evaluate, budget, max_evaluations, progress
        self.calls = 0
        self.seen: set[frozenset] = set()
        self.best = everything  # the smallest set known to meet the budget
        self.failing: list[frozenset] = []
        self.trace: list[dict] = []

    def passes(self, kept: frozenset) -> bool:
        if self.calls >= self.max_evaluations and kept not in self.seen:
            raise OutOfEvaluations()
        self.calls += kept not in self.seen
        self.seen.add(kept)
        m = self.evaluate(kept)
        misses = self.budget.misses(m)
        self.trace.append(trace_row(len(kept), misses, m))
        if misses:
            self.failing.append(kept)
        elif len(kept) < len(self.best):
            self.best = kept
        if self.progress:
            self.progress(self.calls, len(kept), not misses)
        return not misses


def search(evaluate: Callable[[frozenset], dict[str, float]], budget: Budget, candidates: list[str],
           prior: set[str], max_evaluations: int, progress=None,
           impact: dict[str, float] | None = None) -> SearchOutcome:
    """The fewest candidates to keep high, verified to meet `budget`.

    With `impact` (node -> what lowering it alone costs, from the localization), the ranked
    search (ranked.py); otherwise bisection in topological order.
    """
    order = {n: i for i, n in enumerate(candidates)}
    everything = frozenset(candidates)
    trials = Trials(evaluate, budget, max_evaluations, everything, progress)
    all_high = evaluate(everything)
    if budget.misses(all_high):
        raise UserError(
            "the budget cannot be met even with every candidate node in fp32 ("
            + "; ".join(budget.misses(all_high))
            + "): the backend's fp32 result already differs from the FP32 reference that much, so this is "
            "not a precision problem; check the reference run or loosen the budget", code="BUDGET_UNREACHABLE")
    trials.seen.add(everything)
    blanket = evaluate(frozenset())
    trials.trace.append(trace_row(0, budget.misses(blanket), blanket))
    trials.seen.add(frozenset())
    if budget.misses(blanket):
        trials.failing.append(frozenset())
    prior_set = frozenset(n for n in prior if n in order)
    prior_metrics = evaluate(prior_set) if prior_set else None
    if budget.holds(blanket):
        return SearchOutcome([], blanket, blanket, all_high, sorted(prior_set, key=order.get), prior_metrics,
                             trace=trials.trace, strategy="ranked" if impact is not None else "bisection")
    if impact is not None:
        from .ranked import ranked_search

        kept, sensitivity, untried, exhausted = ranked_search(trials, candidates, impact, blanket)
        return _outcome(trials, evaluate, budget, order, kept, blanket, all_high, prior_set, prior_metrics, sensitivity,
                        exhausted, untried, "ranked")
    exhausted = False
    try:
        if prior_set and trials.passes(prior_set):
            kept = set(prior_set)
        else:
            rest = [n for n in candidates if n not in prior_set]
            kept = set(prior_set) | _find(trials.passes, frozenset(prior_set), rest)
    except OutOfEvaluations:
        exhausted = True
        kept = set(trials.best)  # the smallest set verified to meet the budget

    sensitivity: dict[str, float] = {}
    untried = sorted(kept, key=lambda n: -order[n])
    try:
        while untried:
            node = untried[0]
            trial = frozenset(kept - {node})
            ok = trials.passes(trial)
            sensitivity[node] = budget.error(evaluate(trial))
            untried.pop(0)
            if ok:
                kept.discard(node)
    except OutOfEvaluations:
        exhausted = True
    return _outcome(trials, evaluate, budget, order, kept, blanket, all_high, prior_set, prior_metrics, sensitivity,
                    exhausted, untried, "bisection")


def _outcome(trials: Trials, evaluate, budget: Budget, order: dict[str, int], kept: set[str], blanket, all_high,
             prior_set: frozenset, prior_metrics, sensitivity: dict[str, float], exhausted: bool, untried: list[str],
             strategy: str) -> SearchOutcome:
    final = frozenset(kept)
    metrics = evaluate(final)
    if budget.misses(metrics):  # cannot happen under monotonicity; never return a failing set
        kept, metrics, untried = set(trials.best), evaluate(trials.best), sorted(trials.best, key=order.get)
    return SearchOutcome(sorted(kept, key=order.get), metrics, blanket, all_high, sorted(prior_set, key=order.get),
                         prior_metrics, sensitivity, trials.trace, exhausted,
                         lower_bound(trials.failing, frozenset(order)),
                         sorted((n for n in untried if n in kept), key=order.get), strategy=strategy)


def lower_bound(failing: list[frozenset], candidates: frozenset) -> int:
    """Fewest nodes a set meeting the budget must keep, proven by failing sets.

    A failing set F means every passing set keeps a node outside F; failing sets
    whose complements are pairwise disjoint each demand their own node. Greedy
    packing, smallest complements first, gives a valid (not always the best) bound.
    """
    count, used = 0, set()
    for comp in sorted({candidates - f for f in failing}, key=len):
        if comp and not (comp & used):
            used |= comp
            count += 1
    return count


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
