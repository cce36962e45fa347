"""Evaluating one candidate: a set of nodes kept in high precision, the rest low.

A candidate (search/candidate.py: the graph the run builds for a kept set) is
built with the evaluator backend and run on the evaluation data. Results are cached by content (model, data, backend,
decisions), in memory and in the runner's store, so re-runs and repeated
candidates cost nothing.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..backends import get_backend
from ..cancel import CancelToken
from ..evaluation.metrics import aggregate, compare, top1_accuracy
from ..jsonsafe import restore, sanitize
from ..precision.annotate import check_annotated
from .candidate import CandidateGraph

# The ONNX Runtime evaluator's settings when the search's cell is not an ONNX Runtime one.
ORT_EVALUATOR_SETTINGS = {"opt_level": "all", "threads": 0}


class CandidateEvaluator:
    def __init__(self, graph: CandidateGraph, dataset, reference: dict[str, np.ndarray], backend: str,
                 settings: dict, scratch: Path, cache_dir: Path, identity: str, cancel: CancelToken,
                 batch: int = 64):
        self.graph = graph
        self.dataset = dataset
        self.reference = reference
        self.backend = get_backend(backend)
        self.settings = dict(settings)
        if backend == "onnxruntime":
            # ONNX Runtime CPU computes fp16 graphs in fp32: the search must see real rounding. Without a
            # cell's settings (search params: absent settings), the evaluator's own, spelled out because
            # the impacts' localization builds with them as a build stage would (Backend.capture).
            self.settings = {**ORT_EVALUATOR_SETTINGS, **self.settings, "numerics": "emulated"}
        self.scratch = scratch
        self.cache_dir = cache_dir
        self.identity = identity
        self.cancel = cancel
        self.batch = batch
        self.memo: dict[frozenset, dict[str, float]] = {}
        # Per evaluated candidate (this process only): each sample's share of the outputs' squared error.
        self.sample_errors: dict[frozenset, np.ndarray] = {}
        self.evaluations = 0  # candidates actually built and run (cache misses)
        self.lookups = 0

    def __call__(self, kept, per_sample: bool = False) -> dict[str, float]:
        """Metrics of the candidate that keeps `kept` in FP32; with `per_sample`, evaluated here
        (not read from the store's cache) so that `sample_errors[kept]` is there too."""
        kept = frozenset(kept)
        self.lookups += 1
        if kept in self.memo and (not per_sample or kept in self.sample_errors):
            return self.memo[kept]
        decisions = self.graph.decisions(kept)
        key = hashlib.sha256(json.dumps([self.identity, [(d.node, d.resolved) for d in decisions]]).encode()).hexdigest()
        disk = self.cache_dir / f"{key}.json"
        if disk.is_file() and not per_sample:
            metrics = json.loads(disk.read_text())
        else:
            self.cancel.check()
            metrics = self._evaluate(decisions, kept)
            self.evaluations += 1
            tmp = disk.with_suffix(".tmp")
            tmp.write_text(json.dumps(sanitize(metrics)))
            tmp.replace(disk)
        metrics = {k: float(v) for k, v in restore(metrics).items()}
        self.memo[kept] = metrics
        return metrics

    def _evaluate(self, decisions: list, kept: frozenset) -> dict[str, float]:
        annotated = self.graph.annotated(decisions)
        if hasattr(self.backend, "session_from_model"):
            # No session file for a candidate: ONNX Runtime checks the graph as it loads it.
            session = self.backend.session_from_model(annotated, self.settings)
        else:
            check_annotated(annotated)
            path = self.scratch / "candidate.onnx"
            import onnx

            onnx.save(annotated, str(path))
            built = self.backend.build(path, self.scratch, self.settings, self.cancel)
            session = self.backend.load(built.engine, self.settings)
        try:
            session.on_cancel(self.cancel)
            parts: dict[str, list] = {}
            for feed in self.dataset.batches(self.batch):
                self.cancel.check()
                for name, value in session.run(feed).items():
                    parts.setdefault(name, []).append(value)
        finally:
            session.close()
        got = {k: np.concatenate(v) for k, v in parts.items()}
        self.sample_errors[kept] = _sample_errors(got, self.reference)
        per_output = {name: compare(got[name], ref) for name, ref in self.reference.items()}
        metrics = aggregate(per_output)
        if self.dataset.labels is not None:
            first = next(iter(self.reference))
            metrics["top1"] = top1_accuracy(got[first], self.dataset.labels)
            metrics["reference_top1"] = top1_accuracy(self.reference[first], self.dataset.labels)
        return metrics


def _sample_errors(got: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> np.ndarray:
    """Each sample's part of 1 - cosine: its squared error over each output's squared norm, summed
    over the outputs (NaN/Inf count as infinite)."""
    total = np.zeros(0)
    for i, (name, ref) in enumerate(reference.items()):
        r = np.asarray(ref, np.float64).reshape(len(ref), -1)
        d = np.asarray(got[name], np.float64).reshape(len(ref), -1) - r
        with np.errstate(invalid="ignore", over="ignore"):
            part = np.where(np.isfinite(d).all(axis=1), (d * d).sum(axis=1), np.inf) / max(float((r * r).sum()), 1e-300)
        total = part if i == 0 else total + part
    return total
