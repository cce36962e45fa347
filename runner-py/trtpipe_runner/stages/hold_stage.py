"""hold: keeps the runner busy for `seconds` without a word of its own.

A deployment check, not a pipeline step: `trtpipe runners <pipeline> --hold
<seconds>` runs it on every runner of a pipeline to show that a stage which
prints nothing for that long (a TensorRT build of a large model) survives the
transport, keepalive on both ends and whatever proxies and load balancers
stand between (the runner's heartbeats are the only traffic on the stream).
The tests use it with scaled-down intervals. Cancellable at any moment.
"""
from __future__ import annotations

import time

from ..errors import Cancelled, UserError
from .context import StageContext, StageOutput

MAX_SECONDS = 7 * 24 * 3600.0


def run(ctx: StageContext) -> StageOutput:
    seconds = ctx.params.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_SECONDS:
        raise UserError(f"hold needs params.seconds, a number in (0, {MAX_SECONDS:.0f}], got {seconds!r}",
                        code="BAD_PARAM")
    t0 = time.perf_counter()
    if ctx.cancel.wait(float(seconds)):
        raise Cancelled("the stage was cancelled by the client")
    return StageOutput(metrics={"held_seconds": time.perf_counter() - t0})
