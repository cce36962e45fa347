"""Whether this runner runs code that comes inside an engine.

A TensorRT version-compatible engine embeds host code (the lean runtime) that loading it runs:
with `engine_host_code_allowed` on, anyone who can send an engine (every holder of the token) can
run code on the runner. So it is off unless the runner's operator started it with
`--allow-engine-host-code`; then, and only then, version-compatible engines build and load.

The setting travels with the stage (StageContext -> the stage's thread, as a context variable),
so several servers in one process (tests) keep their own.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

from .errors import UserError

FLAG = "--allow-engine-host-code"
_ALLOWED: contextvars.ContextVar[bool] = contextvars.ContextVar("trtpipe_engine_host_code", default=False)


@contextmanager
def engine_host_code(allowed: bool) -> Iterator[None]:
    """Sets, for the body, whether engines with host code may be built and loaded."""
    token = _ALLOWED.set(allowed)
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def require_engine_host_code(what: str) -> None:
    """Raises UserError (HOST_CODE_REFUSED) unless this runner was started with FLAG.

    Args:
        what: what needs host code ("loading a version-compatible engine").
    """
    if not _ALLOWED.get():
        raise UserError(f"{what} runs host code embedded in the engine, which this runner refuses: build without "
                        f"`version_compatible`, or start the runner with `trtpipe-runner serve {FLAG}` (only where "
                        "every token holder may run code on it)", code="HOST_CODE_REFUSED")
