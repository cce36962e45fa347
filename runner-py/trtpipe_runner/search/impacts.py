"""The candidates' impacts for the ranked search: one localization of the graph with every
candidate lowered (the blanket candidate), run with the search's own evaluator and settings.

On the samples that carry blanket's error: 1 - cosine over a data set is a sum over its samples'
squared errors, and a few samples often hold most of it (near a classifier's decision boundary). So
blanket is evaluated first on all the data (the evaluation the search needs anyway), and the
localization runs on the samples with the largest part of its error. On PP-OCR's text-orientation
classifier in int8 (54 candidates) the impacts' rank correlation with single-node evaluations on
all 512 samples is 0.69 from the first 8 samples, 0.92 from the first 64; on all-MiniLM-L6-v2
0.987 from the first 8.

Cached by content beside the candidates' metrics, so a repeated search pays for it once.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np

from ..data.dataset import Dataset, fixed_batch
from ..errors import RunnerError
from ..jsonsafe import restore, sanitize
from ..localize.capture import localize
from ..model.tensors import graph_inputs
from .budget import Budget
from .evaluator import CandidateEvaluator

# The impacts rank, they do not judge: a few samples do, if they are the ones that carry blanket's
# error (module docstring).
SAMPLES = 16


def candidate_impacts(evaluator: CandidateEvaluator, fp32, budget: Budget, cancel,
                      log=None) -> tuple[dict[str, float] | None, dict]:
    """({candidate: impact} or None when the evaluator cannot localize, details for the record);
    no impacts ({}) when blanket meets `budget`: the search then keeps nothing and needs no ranking."""
    graph = evaluator.graph
    blanket = graph.decisions(frozenset())
    key = hashlib.sha256(json.dumps([evaluator.identity, "impact/1", [(d.node, d.resolved) for d in blanket]])
                         .encode()).hexdigest()
    disk = evaluator.cache_dir / f"{key}.impact.json"
    if disk.is_file():
        cached = restore(json.loads(disk.read_text()))
        return {k: float(v) for k, v in cached["impact"].items()}, {**cached["details"], "cached": True}
    t0 = time.perf_counter()
    scratch = Path(evaluator.scratch) / "impact"
    scratch.mkdir(parents=True, exist_ok=True)
    fixed = fixed_batch(graph_inputs(fp32))
    lowered = evaluator(frozenset(), per_sample=True)  # blanket: the search's own evaluation, reused by it
    if budget.holds(lowered):
        return {}, {"skipped": "every candidate lowered meets the budget"}
    data = worst_samples(evaluator.dataset, evaluator.sample_errors[frozenset()], fixed or SAMPLES)
    try:
        result = localize(fp32, graph.annotated(blanket), evaluator.backend.name, evaluator.settings, data,
                          scratch, cancel, samples=data.count, batch=data.count, fixed_batch=fixed is not None,
                          impact_nodes=list(graph.candidates), impact_samples=data.count,
                          nodes=list(graph.candidates), log=log)
    except RunnerError as exc:  # a backend that cannot return intermediates: bisection without a ranking
        if log:
            log(f"search: no impact ranking ({exc}); bisecting in graph order", "warning")
        return None, {"error": str(exc)}
    impact = {n.node: n.impact for n in result.attribution.nodes if n.impact is not None}
    details = {"seconds": round(time.perf_counter() - t0, 3), "samples": result.samples,
               "measured": len(impact), "candidates": len(graph.candidates),
               "nonfinite": sorted(n for n, v in impact.items() if not math.isfinite(v))}
    tmp = disk.with_suffix(".tmp")
    tmp.write_text(json.dumps(sanitize({"impact": impact, "details": details})))
    tmp.replace(disk)
    return impact, details


def worst_samples(dataset: Dataset, errors: np.ndarray, count: int) -> Dataset:
    """The `count` samples with the largest errors (in their order in the data)."""
    if dataset.count <= count:
        return dataset
    keep = np.sort(np.argsort(-np.nan_to_num(errors, nan=np.inf), kind="stable")[:count])
    return Dataset({k: v[keep] for k, v in dataset.inputs.items()},
                   None if dataset.labels is None else dataset.labels[keep], dataset.source)
