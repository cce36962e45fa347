"""The ranked search: candidates ordered by measured impact, the shortest passing prefix, then
refinement that tries groups before single nodes and skips what the impacts say is needed.

Impact (localize/impact.py) is what a node's own error does to the outputs when
it is the only one: 1 - cosine, on a few samples. Errors of this kind add up
closely (on all-MiniLM-L6-v2 in int8 the impacts of the 36 layers sum to
within 1% of blanket int8's 1 - cosine), so with a cosine budget the impacts
predict how many of the top nodes must stay high, and which kept node could
go back low; every prediction is checked by an evaluation before it is
believed, and every set returned was evaluated and met the budget.

1. Rank: impact, largest first (NaN/Inf first of all), graph order among
   equals; candidates without a measurement last.
2. Prefix: the shortest top-k that meets the budget. Start at the k the
   impacts predict (scaled so they add up to blanket's error), step down
   once when it passes, gallop up when it does not, then bisect.
3. Refinement: the kept nodes other than the last one of the prefix (the one
   prefix k-1 proved needed). Those whose impacts fit in what the budget has
   left over the prefix's measured error are tried together, in one
   evaluation; then, cheapest first, every one still kept, alone.
Without a cosine budget, or with candidates the localization could not
measure, there is no prediction: the prefix is bisected, and refinement
starts from the single nodes.
"""
from __future__ import annotations

import math

from .strategy import OutOfEvaluations, Trials

MARGIN = 0.95  # aim a little under the budget: the additive prediction is close, not exact


def rank(candidates: list[str], impact: dict[str, float]) -> list[str]:
    order = {n: i for i, n in enumerate(candidates)}
    known = sorted((n for n in candidates if n in impact), key=lambda n: (-_key(impact[n]), order[n]))
    return known + [n for n in candidates if n not in impact]


def _key(v: float) -> float:
    return 1e300 if v == math.inf else -1.0 if math.isnan(v) else v


def ranked_search(trials: Trials, candidates: list[str], impact: dict[str, float], blanket: dict[str, float]):
    """(kept, sensitivity, untried, exhausted); `trials` knows blanket fails and keeping every
    candidate passes."""
    budget = trials.budget
    ranked = rank(candidates, impact)
    allowed = 1.0 - budget.cosine if budget.cosine is not None else None
    scale = _scale(ranked, impact, budget.error(blanket))
    exhausted = False
    kept_list: list[str] = list(ranked)
    try:
        k = _shortest_prefix(trials, ranked, _predicted_k(ranked, impact, scale, budget.error(blanket), allowed))
        kept_list = ranked[:k]
    except OutOfEvaluations:
        exhausted = True
        best = trials.best
        kept_list = [n for n in ranked if n in best]
    kept = set(kept_list)
    sensitivity: dict[str, float] = {}
    if exhausted:
        return kept, sensitivity, sorted(kept), True
    # The last node of the prefix is needed: the prefix without it was evaluated and failed.
    rest = sorted(kept_list[:-1], key=lambda n: _key(impact.get(n, math.inf)))
    untried = list(rest)
    try:
        group = _fitting(rest, impact, scale, budget.error(trials.evaluate(frozenset(kept))), allowed)
        if len(group) > 1 and trials.passes(frozenset(kept - set(group))):
            kept -= set(group)  # back low together, in one evaluation
            untried = [n for n in untried if n not in group]
        while untried:
            n = untried[0]
            trial = frozenset(kept - {n})
            ok = trials.passes(trial)
            sensitivity[n] = budget.error(trials.evaluate(trial))
            untried.pop(0)
            if ok:
                kept.discard(n)
    except OutOfEvaluations:
        exhausted = True
    return kept, sensitivity, untried, exhausted


def _fitting(nodes: list[str], impact: dict[str, float], scale: float, error: float, allowed: float | None) -> list[str]:
    """The cheapest of `nodes` whose impacts, added to `error`, still fit in `allowed`."""
    if allowed is None:
        return []
    out, spent = [], error
    for n in nodes:
        v = impact.get(n)
        if v is None or not math.isfinite(v) or spent + scale * v > allowed:
            break
        out.append(n)
        spent += scale * v
    return out


def _scale(ranked: list[str], impact: dict[str, float], blanket_error: float) -> float:
    """Impacts are measured on a few samples: scale them so the finite ones add up to blanket's error
    (not when some candidate has no measurement, nor when blanket's error is NaN/Inf)."""
    total = sum(v for n in ranked if n in impact and math.isfinite(v := impact[n]))
    if total <= 0 or not math.isfinite(blanket_error) or any(n not in impact for n in ranked):
        return 1.0
    return blanket_error / total


def _predicted_k(ranked: list[str], impact: dict[str, float], scale: float, blanket_error: float,
                 allowed: float | None) -> int | None:
    """The shortest prefix the impacts say meets the budget (None without a cosine budget, or
    when some candidate has no measurement: its share of the error is unknown)."""
    if allowed is None or any(n not in impact for n in ranked):
        return None
    makers = sum(1 for n in ranked if n in impact and not math.isfinite(impact[n]))  # NaN/Inf makers lead
    left = scale * sum(v for n in ranked if n in impact and math.isfinite(v := impact[n]))
    for k in range(makers, len(ranked)):
        if left <= allowed * MARGIN:
            return max(k, 1)
        measured = impact.get(ranked[k])
        if measured is None:
            return None  # unmeasured nodes next: nothing to predict with
        left -= scale * measured
    return len(ranked)


def _shortest_prefix(trials: Trials, ranked: list[str], guess: int | None) -> int:
    """The smallest k whose top-k passes (0 fails and len(ranked) passes, as trials knows)."""
    lo, hi = 0, len(ranked)

    def passes(k: int) -> bool:
        return trials.passes(frozenset(ranked[:k]))

    if guess is not None and 0 < guess < hi:
        if passes(guess):
            hi = guess  # one step down says whether it is the shortest; bisect below if not
            if guess - 1 > lo and not passes(guess - 1):
                lo = guess - 1
        else:
            lo, step = guess, 1  # gallop up from the guess
            while lo + step < hi:
                if passes(lo + step):
                    hi = lo + step
                    break
                lo, step = lo + step, step * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi
