"""The runner's share of the host's cores.

Several runners on one host (one per GPU, or a pool of CPU runners) would
each let ONNX Runtime and PyTorch take every core and fight over them; the
process that starts them splits the cores and says so in
TRTPIPE_RUNNER_THREADS (src/run/local-gpus.ts). A target's own `threads`
setting still wins for its ONNX Runtime sessions.
"""
from __future__ import annotations

import os


def budget() -> int:
    """Host threads this runner may compute with; 0 when unset (the libraries decide)."""
    try:
        return max(0, int(os.environ.get("TRTPIPE_RUNNER_THREADS", "0")))
    except ValueError:
        return 0


def apply_to_torch() -> None:
    """Limits PyTorch's intra-op threads to the budget (OMP_NUM_THREADS covers it only if set before import)."""
    n = budget()
    if not n:
        return
    try:
        import torch
    except ImportError:
        return  # the torch backend says so itself when a stage needs it
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
