"""Timing caches persisted per target identity and reused across builds.

TensorRT times candidate kernels (tactics) for every layer; the timing cache
keeps those results so the next build of a similar network skips the timing.
Timings are only valid for the GPU model, its compute capability, the driver
and the TensorRT version they were measured with, so the cache file is keyed
by exactly those four. Use: `config.create_timing_cache(bytes or b"")` ->
`config.set_timing_cache(cache, ignore_mismatch=False)` -> build ->
`config.get_timing_cache().serialize()` (TensorRT Python bindings,
python/src/infer/pyCore.cpp; ITimingCache).

Folder: settings `timing_cache_dir`, else $TRTPIPE_TRT_CACHE_DIR, else
~/.cache/trtpipe/timing. Writes go to a temporary file renamed into place, so
a concurrent build never reads half a cache; the last writer wins.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ENV_VAR = "TRTPIPE_TRT_CACHE_DIR"
DEFAULT_DIR = Path("~/.cache/trtpipe/timing")


@dataclass(frozen=True)
class TargetIdentity:
    """What a timing measurement depends on."""

    gpu: str
    compute_capability: str
    driver: str
    tensorrt: str

    def key(self) -> str:
        """A readable, file-name-safe key with a hash of the exact values.

        The hash keeps two identities apart even when sanitizing their
        readable parts makes them look alike.
        """
        canonical = json.dumps(asdict(self), sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
        readable = f"{self.gpu}_sm{self.compute_capability}_drv{self.driver}_trt{self.tensorrt}"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-")[:120]
        return f"{readable}-{digest}"


def cache_dir(setting: str | None = None) -> Path:
    """The timing-cache folder: the setting, else $TRTPIPE_TRT_CACHE_DIR, else ~/.cache/trtpipe/timing."""
    chosen = setting or os.environ.get(ENV_VAR) or str(DEFAULT_DIR)
    return Path(chosen).expanduser()


class TimingCacheStore:
    """Loads and saves serialized timing caches in one folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path_for(self, identity: TargetIdentity) -> Path:
        return self.folder / f"{identity.key()}.timing-cache"

    def load(self, identity: TargetIdentity) -> bytes | None:
        """The stored cache for this identity, or None if there is none (or it cannot be read)."""
        try:
            return self.path_for(identity).read_bytes()
        except OSError:
            return None

    def save(self, identity: TargetIdentity, data: bytes) -> Path:
        """Atomically replaces the stored cache for this identity.

        Args:
            identity: the target the timings were measured on.
            data: the serialized timing cache.

        Returns:
            the cache file's path.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(identity)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".timing-cache")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
