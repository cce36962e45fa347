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

from ..errors import Cancelled
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    seconds = ctx.params.seconds  # in (0, 7 days]: the contract checked it
    t0 = time.perf_counter()
    if ctx.cancel.wait(float(seconds)):
        raise Cancelled("the stage was cancelled by the client")
    return StageOutput(metrics={"held_seconds": time.perf_counter() - t0})
