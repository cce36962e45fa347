"""Checking that an allocation a client asked for fits before making it.

A pipeline that passed validation can still ask for more than the runner holds (a benchmark
batch of 100,000,000 samples, synthetic data of 10^12 samples): numpy would raise MemoryError
deep in a stage, or, with the kernel's overcommit, the runner would be killed. Checking the
size first turns that into a user error naming the setting.
"""
from __future__ import annotations

import os

from .errors import UserError

# Never let one stage's arrays take more than this share of the memory the host has free.
SHARE_OF_AVAILABLE = 0.5


def available_bytes() -> int | None:
    """Memory the host could give this process now (MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(nbytes: int, what: str, fix: str, code: str = "BAD_PARAM") -> None:
    """Raises a UserError when `nbytes` exceeds half the memory available now.

    Args:
        nbytes: the bytes about to be allocated.
        what: what they are for ("benchmark batch 100000000 of input 'x'").
        fix: the setting to change ("lower benchmark.batch").
        code: the error's code.
    """
    free = available_bytes()
    if free is not None and nbytes > free * SHARE_OF_AVAILABLE:
        raise UserError(f"{what} needs {_gib(nbytes)} of memory; this runner has {_gib(free)} available "
                        f"(a stage may use half): {fix}", code=code)


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"
