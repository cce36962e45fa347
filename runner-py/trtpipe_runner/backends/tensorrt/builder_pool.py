"""One idle TensorRT Builder per runner process, lent to each build in turn.

Creating a trt.Builder loads TensorRT's builder resource (the all-architecture library of 10.6
is over a gigabyte) and sets up CUDA: on the H200 host that was 3.6 s of every ResNet-50 build,
whose engine itself took 2.5 s with a warm timing cache, and destroying the Builder cost about a
second more (bench/gpu_trt_build_phases.py). A runner builds many engines (a matrix, a search,
capture engines for localize), so a Builder outlives its build and serves the next one; the
capability probe's Builder becomes the first build's.

A Builder serves one build at a time (TensorRT objects are not thread safe): a build that finds
none idle creates its own, and one idle Builder is kept afterwards. A build that fails gives its
Builder up rather than lend a possibly broken one to the next. A Builder's logger is fixed when it
is created, so the logger forwards to whichever build holds the Builder now. trtpipe sets nothing
on the Builder itself (every setting lives on each build's own network and config), so nothing
carries over from one build to the next.
"""
from __future__ import annotations

import atexit
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from .loader import create_builder, make_logger

_lock = threading.Lock()
_idle: tuple[Any, Any, Any] | None = None  # (tensorrt module, Builder, its logger)


@contextmanager
def lent_builder(trt, log=None) -> Iterator[tuple[Any, Any]]:
    """(builder, logger) for one build; the logger forwards to `log` and collects this build's errors.

    Raises what create_builder raises when no Builder can be made (a missing library named).
    """
    global _idle
    with _lock:
        held, _idle = (_idle, None) if _idle is not None and _idle[0] is trt else (None, _idle)
    if held is not None:
        _, builder, logger = held
    else:
        logger = make_logger(trt)
        builder = create_builder(trt, logger)
    logger.forward, logger.errors = log, []
    succeeded = False
    try:
        yield builder, logger
        succeeded = True
    finally:
        logger.forward = None
        if succeeded:
            keep(trt, builder, logger)


def keep(trt, builder, logger) -> None:
    """Makes `builder` (created with `logger`) the idle one, unless one is idle already."""
    global _idle
    with _lock:
        if _idle is None or _idle[0] is not trt:
            _idle = (trt, builder, logger)


def idle_builder(trt):
    """The idle Builder for this tensorrt module, or None (for tests and diagnostics)."""
    with _lock:
        return _idle[1] if _idle is not None and _idle[0] is trt else None


@atexit.register
def discard() -> None:
    """Drops the idle Builder; at exit this runs while CUDA and TensorRT are still loaded."""
    global _idle
    with _lock:
        _idle = None
