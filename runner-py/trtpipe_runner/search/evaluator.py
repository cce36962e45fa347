"""Evaluating one candidate: a set of nodes kept in high precision, the rest low.

A candidate is built from the model and the base decisions (the policy with
the search's low precision as default), the kept nodes moved to FP32, then
annotated, built with the evaluator backend and run on the evaluation data.
Results are cached by content (model, data, backend, decisions), in memory
and in the runner's store, so re-runs and repeated candidates cost nothing.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..backends import get_backend
from ..cancel import CancelToken
from ..evaluation.metrics import aggregate, compare, top1_accuracy
from ..jsonsafe import restore, sanitize
from ..precision.annotate import annotate, check_annotated
from ..precision.qdq import insert_qdq


class CandidateEvaluator:
    def __init__(self, model, base: list, dataset, reference: dict[str, np.ndarray], backend: str,
                 settings: dict, scratch: Path, cache_dir: Path, identity: str, cancel: CancelToken,
                 amax: dict[str, float] | None = None, batch: int = 64,
                 smoothing: dict[str, list[float]] | None = None):
        self.model = model
        self.base = base
        self.by_node = {d.node: d for d in base}
        self.dataset = dataset
        self.reference = reference
        self.backend = get_backend(backend)
        self.settings = dict(settings)
        if backend == "onnxruntime":
            # ONNX Runtime CPU computes fp16 graphs in fp32: the search must see real rounding.
            self.settings["numerics"] = "emulated"
        self.scratch = scratch
        self.cache_dir = cache_dir
        self.identity = identity
        self.cancel = cancel
        self.amax = amax or {}
        self.smoothing = smoothing or {}  # SmoothQuant factors from the calibrate stage, as transform applies them
        self.batch = batch
        self.memo: dict[frozenset, dict[str, float]] = {}
        self.evaluations = 0  # candidates actually built and run (cache misses)
        self.lookups = 0

    def decisions(self, kept: frozenset) -> list:
        return [replace(d, resolved="fp32", reason="SEARCH_FALLBACK", detail="kept to meet the accuracy budget")
                if d.node in kept else d for d in self.base]

    def __call__(self, kept) -> dict[str, float]:
        """Metrics of the candidate that keeps `kept` in FP32."""
        kept = frozenset(kept)
        self.lookups += 1
        if kept in self.memo:
            return self.memo[kept]
        decisions = self.decisions(kept)
        key = hashlib.sha256(json.dumps([self.identity, [(d.node, d.resolved) for d in decisions]]).encode()).hexdigest()
        disk = self.cache_dir / f"{key}.json"
        if disk.is_file():
            metrics = json.loads(disk.read_text())
        else:
            self.cancel.check()
            metrics = self._evaluate(decisions)
            self.evaluations += 1
            tmp = disk.with_suffix(".tmp")
            tmp.write_text(json.dumps(sanitize(metrics)))
            tmp.replace(disk)
        metrics = {k: float(v) for k, v in restore(metrics).items()}
        self.memo[kept] = metrics
        return metrics

    def _evaluate(self, decisions: list) -> dict[str, float]:
        annotated, _ = annotate(self.model, decisions)
        if any(d.resolved in ("int8", "fp8") for d in decisions):
            insert_qdq(annotated, decisions, self.amax, True, annotated.opset_import[0].version, self.smoothing)
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
        per_output = {name: compare(got[name], ref) for name, ref in self.reference.items()}
        metrics = aggregate(per_output)
        if self.dataset.labels is not None:
            first = next(iter(self.reference))
            metrics["top1"] = top1_accuracy(got[first], self.dataset.labels)
            metrics["reference_top1"] = top1_accuracy(self.reference[first], self.dataset.labels)
        return metrics
