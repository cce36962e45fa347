"""ONNX's own operator conformance cases, run through the torch backend.

`onnx.backend.test.case.node.collect_testcases()` ships, with the onnx
package, one small model per operator case with inputs, expected outputs and
a tolerance. Each case goes through the backend as a user's model does:
build (the checks that refuse what the backend cannot run), load, run (twice:
the generic plan, then the plan specialized to the input shapes), and the
outputs are compared the way ONNX's own backend test runner compares them.

Outcomes:
- pass: every output matches at the case's rtol/atol (and has its dtype);
- refused: `build` raised the backend's UserError (UNSUPPORTED_OP/_TYPE);
- wrong: it ran, and an output differs (value, shape or dtype);
- crash: any other exception, or a refusal that only came at load/run time.
"""
from __future__ import annotations

import re
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...cancel import CancelToken
from ...errors import UserError

OUTCOMES = ("pass", "refused", "wrong", "crash")


@dataclass
class CaseResult:
    name: str
    outcome: str  # one of OUTCOMES
    op: str  # the op the outcome is about: the refused/failing node's op, else the case's first op
    detail: str = ""  # the refusal message, the mismatch, or the exception
    code: str = ""  # the UserError code of a refusal
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def collect_cases(pattern: str | None = None) -> list:
    """ONNX's node test cases (model, data sets, rtol/atol), optionally filtered by a regex on the name."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators' own numpy overflow warnings
        cases = collect_testcases()
    if pattern:
        rx = re.compile(pattern)
        cases = [c for c in cases if rx.search(c.name)]
    return sorted(cases, key=lambda c: c.name)


def _node_op(model, node_name: str) -> str:
    for i, node in enumerate(model.graph.node):
        if (node.name or f"{node.op_type}_{i}") == node_name:
            return node.op_type
    return ""


def _first_op(model) -> str:
    return model.graph.node[0].op_type if model.graph.node else ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


FP16_RTOL = 2.0 ** -9  # two float16 ULPs, as ONNX's runner allows bfloat16 two of its own (2 ** -6)


def _compare(expected: list, got: list, rtol: float, atol: float) -> None:
    """ONNX's backend-test comparison (shape, dtype, values at rtol/atol); AssertionError if they differ.

    One addition: float16 outputs get two ULPs of relative tolerance, as ONNX's
    runner gives bfloat16. The expected values come from numpy, which rounds
    every fp16 intermediate (a Softmax's exp, its sum, the quotient), while
    torch keeps fp32 inside an fp16 kernel, as GPUs do; rtol=1e-3 is below
    one fp16 ULP in [0.5, 1), so the more accurate result would count as wrong.
    """
    from onnx.backend.test.runner import Runner

    if len(expected) != len(got):
        raise AssertionError(f"{len(got)} outputs, expected {len(expected)}")
    for want, have in zip(expected, got):
        tol = max(rtol, FP16_RTOL) if getattr(want, "dtype", None) == np.float16 else rtol
        Runner.assert_similar_outputs([want], [have], rtol=tol, atol=atol)


def _array(value) -> np.ndarray:
    """A case's input or expected output as numpy: cases of types numpy lacks (float8, bfloat16,
    4-bit) store TensorProtos, which onnx turns into its ml_dtypes arrays."""
    from onnx import TensorProto, numpy_helper

    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else value


def run_case(case, device: str = "cpu") -> CaseResult:
    """Builds, loads and runs one case on the torch backend; never raises for the case's own faults."""
    from .backend import TorchBackend

    model = case.model
    t0 = time.perf_counter()
    result = CaseResult(case.name, "pass", _first_op(model))
    backend = TorchBackend()
    with tempfile.TemporaryDirectory(prefix="trtpipe-conformance-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(tmp) / "model.onnx"
        path.write_bytes(model.SerializeToString())
        stage = "build"
        try:
            built = backend.build(path, Path(tmp), {"device": device}, CancelToken())
            stage = "load"
            session = backend.load(built.engine, {"device": device})
            stage = "run"
            names = [vi.name for vi in model.graph.input]
            for inputs, expected in case.data_sets:
                feeds = {n: _array(v) for n, v in zip(names, inputs)}
                expected = [_array(v) for v in expected]
                for _ in range(2):  # generic plan, then the one specialized to these shapes
                    outs = session.run(feeds)
                    _compare(expected, [outs[n] for n in session.output_names()], case.rtol, case.atol)
        except UserError as exc:
            result.op = _node_op(model, exc.node) or result.op
            result.code = exc.code
            if stage == "build":
                result.outcome, result.detail = "refused", exc.message
            else:
                result.outcome, result.detail = "crash", f"refused only at {stage} time: {exc.message}"
        except AssertionError as exc:
            result.outcome, result.detail = "wrong", _one_line(exc)
        except Exception as exc:  # noqa: BLE001 - every other exception is what this harness counts
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
            result.outcome, result.detail = "crash", f"{stage}: {_one_line(exc)}{where}"
    result.seconds = time.perf_counter() - t0
    return result


def run_all(cases, device: str = "cpu", progress=None) -> list[CaseResult]:
    results = []
    for i, case in enumerate(cases):
        results.append(run_case(case, device))
        if progress:
            progress(i + 1, len(cases), results[-1])
    return results


def tally(results: list[CaseResult]) -> dict[str, int]:
    counts = Counter(r.outcome for r in results)
    return {**{k: counts.get(k, 0) for k in OUTCOMES}, "total": len(results)}


def _reason(result: CaseResult) -> str:
    """A refusal's message without the node's name, so the same reason groups across cases."""
    text = re.sub(r"node '[^']*'", "node", result.detail)
    text = re.sub(r"\(node\)|node \(\w+\): ", "", text)
    text = text.replace("the torch backend cannot run  ", "").replace("the torch backend ", "")
    return re.sub(r"\s+", " ", text).strip(" .;:")


def refusals(results: list[CaseResult]) -> dict[str, dict[str, int]]:
    """op -> {reason: number of cases}, for every refused case."""
    table: dict[str, Counter] = {}
    for r in results:
        if r.outcome == "refused":
            table.setdefault(r.op or "?", Counter())[_reason(r)] += 1
    return {op: dict(reasons.most_common()) for op, reasons in sorted(table.items())}
