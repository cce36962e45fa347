"""Creating ONNX Runtime sessions and running them in batches."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from ...cancel import CancelToken
from ...errors import Cancelled, UserError
from ...threads import budget

OPT_LEVELS = ("disable", "basic", "extended", "all")


def make_session(model: Path | bytes, *, threads: int = 0, opt_level: str = "all",
                 optimized_out: Path | None = None, providers: list[str] | None = None,
                 external_initializers: str | None = None):
    """Builds an InferenceSession; maps "no kernel" failures to a UserError.

    Args:
        model: a model file or its bytes.
        threads: intra-op threads (0: the runner's budget, threads.py, else ONNX Runtime decides).
        opt_level: one of OPT_LEVELS.
        optimized_out: where ONNX Runtime should save the optimized graph.
        providers: execution providers, CPU by default.
        external_initializers: with `optimized_out`, write initializers of 1 KiB
            or more to this file beside it (a model with external data stays one).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[opt_level]
    so.log_severity_level = 3
    threads = threads or budget()
    if threads:
        so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    if optimized_out is not None:
        so.optimized_model_filepath = str(optimized_out)
        if external_initializers:
            so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                        external_initializers)
            so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, so, providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
        raise _session_error(exc) from None


_NO_KERNEL = re.compile(r"Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'")


def _session_error(exc: Exception) -> Exception:
    text = str(exc)
    m = _NO_KERNEL.search(text)
    if m:
        op, version, node = m.groups()
        return UserError(
            f"ONNX Runtime (CPU) has no kernel for {op} (opset {version}) in the types node '{node}' uses. "
            "To measure this precision's accuracy on a CPU, "
            "set `numerics: emulated` on the target (computes in fp32, rounds every tensor to its type); "
            f"to run the rest natively, keep these nodes in fp32 with a rule "
            f"`{{ match: {{ op: [{op}] }}, use: fp32 }}`; or use a GPU backend (tensorrt, torch)",
            code="NO_KERNEL_ON_BACKEND",
            node=node,
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return UserError(f"ONNX Runtime could not load the model: {first}", code="BACKEND_LOAD_FAILED")


def run_batches(session, batches: Iterator[dict[str, np.ndarray]], cancel: CancelToken,
                on_batch=None) -> dict[str, np.ndarray]:
    """Runs every batch and concatenates each output along axis 0.

    Cancellation stops between batches and inside a running batch (ONNX
    Runtime's RunOptions.terminate).
    """
    import onnxruntime as ort

    run_options = ort.RunOptions()
    cancel.on_cancel(lambda: setattr(run_options, "terminate", True))
    names = [o.name for o in session.get_outputs()]
    collected: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i, feed in enumerate(batches):
        cancel.check()
        try:
            results = session.run(names, feed, run_options)
        except Exception as exc:  # noqa: BLE001
            if cancel.cancelled:
                raise Cancelled("the stage was cancelled by the client") from None
            raise UserError(f"ONNX Runtime failed to run the model: {str(exc).strip().splitlines()[0]}",
                            code="BACKEND_RUN_FAILED") from None
        for n, r in zip(names, results):
            collected[n].append(r)
        if on_batch:
            on_batch(i)
    return {n: np.concatenate(parts, axis=0) for n, parts in collected.items()}


def ort_version() -> str:
    import onnxruntime as ort

    return ort.__version__
