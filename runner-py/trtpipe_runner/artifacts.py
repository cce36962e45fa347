"""Content-addressed artifact store on disk.

Blobs live at <root>/objects/<sha[:2]>/<sha>, written through a temporary file
in <root>/tmp and renamed into place only after their hash is verified, so a
reader never sees a partial or wrong blob and a crash leaves only temporaries
(swept on open). Names come only from validated hex digests: a client can
never make the store touch a path outside its root.
"""
from __future__ import annotations

import hashlib
import os
import queue
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from .errors import IntegrityError, NotFoundError, UserError

CHUNK = 1 << 20  # 1 MiB: the chunk size of the wire protocol
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_sha(sha: str) -> str:
    """Validates a sha256 hex digest; raises UserError otherwise."""
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise UserError(f"not a sha256 hex digest: {sha!r:.80}", code="BAD_DIGEST")
    return sha


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ArtifactWriter:
    """Streams bytes into the store; `commit()` verifies and publishes them.

    Hashing and writing run on a helper thread fed through a small bounded
    queue, so they overlap with receiving the next chunk (hashlib and file
    writes release the GIL). Blobs are not fsynced: the store is a cache whose
    entries are named by, and checked against, their hash.
    """

    QUEUE_CHUNKS = 8

    def __init__(self, store: "ArtifactStore", expected_sha: str | None, expected_size: int | None):
        self._store = store
        self._expected_sha = expected_sha
        self._expected_size = expected_size
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="put-")
        self._tmp = Path(name)
        self._fd = fd
        self._hash = hashlib.sha256()
        self._queue: queue.Queue = queue.Queue(self.QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="artifact-writer", daemon=True)
        self._thread.start()
        self.size = 0

    def _drain(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            if self._error is not None:
                continue
            try:
                self._hash.update(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view):]
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                self._error = exc

    def write(self, data: bytes) -> None:
        if self._expected_size is not None and self.size + len(data) > self._expected_size:
            self.abort()
            raise IntegrityError(
                f"artifact {self._expected_sha} is larger than its declared {self._expected_size} bytes"
            )
        if self._error is not None:
            self.abort()
            raise self._error
        self._queue.put(data)
        self.size += len(data)

    def _finish(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def commit(self) -> str:
        """Verifies hash and size, renames into place; returns the sha256."""
        self._finish()
        if self._error is not None:
            self._tmp.unlink(missing_ok=True)
            raise self._error
        sha = self._hash.hexdigest()
        if self._expected_sha is not None and sha != self._expected_sha:
            self._tmp.unlink(missing_ok=True)
            raise IntegrityError(
                f"artifact bytes hash to {sha}, not the declared {self._expected_sha}: "
                "the upload was corrupted in transit"
            )
        if self._expected_size is not None and self.size != self._expected_size:
            self._tmp.unlink(missing_ok=True)
            raise IntegrityError(f"artifact {sha} has {self.size} bytes, not the declared {self._expected_size}")
        dest = self._store.path(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, dest)
        return sha

    def abort(self) -> None:
        self._finish()
        self._tmp.unlink(missing_ok=True)


class ArtifactStore:
    """A directory of immutable blobs named by their sha256."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        # Several runners may share one store (concurrent `trtpipe run`s on a
        # machine): each writes temporaries in its own folder and sweeps only
        # the folders of processes that no longer exist.
        tmp_root = self.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        for stale in tmp_root.iterdir():
            owner = stale.name.split("-", 1)[0]
            if owner.isdigit() and not _alive(int(owner)):
                shutil.rmtree(stale, ignore_errors=True)
        self.tmp_dir = Path(tempfile.mkdtemp(dir=tmp_root, prefix=f"{os.getpid()}-"))
        self._verified: dict[str, tuple[int, int]] = {}

    def path(self, sha: str) -> Path:
        check_sha(sha)
        return self.objects / sha[:2] / sha

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def require(self, sha: str) -> Path:
        """Returns the blob's path; NotFoundError if absent, IntegrityError if its
        bytes no longer hash to its name (checked once per file version)."""
        p = self.path(sha)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise NotFoundError(f"artifact {sha} is not on this runner; upload it first") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if self._verified.get(sha) != stamp:
            if sha256_file(p) != sha:
                p.unlink(missing_ok=True)
                raise IntegrityError(f"artifact {sha} on this runner was corrupt and has been removed; upload it again")
            self._verified[sha] = stamp
        return p

    def size(self, sha: str) -> int:
        return self.require(sha).stat().st_size

    def writer(self, expected_sha: str | None = None, expected_size: int | None = None) -> ArtifactWriter:
        if expected_sha is not None:
            check_sha(expected_sha)
        return ArtifactWriter(self, expected_sha, expected_size)

    def intact(self, sha: str) -> bool:
        """True if the blob exists and its bytes hash to its name (checked once per file version)."""
        try:
            self.require(sha)
            return True
        except (NotFoundError, IntegrityError):
            return False

    def put_bytes(self, data: bytes) -> str:
        """Stores bytes produced on the runner; returns their sha256."""
        sha = hashlib.sha256(data).hexdigest()
        if self.intact(sha):
            return sha
        w = self.writer(sha, len(data))
        w.write(data)
        return w.commit()

    def put_file(self, path: Path) -> str:
        """Moves a file produced on the runner into the store; returns its sha256."""
        sha = sha256_file(path)
        dest = self.path(sha)
        if self.intact(sha):
            Path(path).unlink(missing_ok=True)
            return sha
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        return sha

    def read_bytes(self, sha: str) -> bytes:
        return self.require(sha).read_bytes()

    def iter_chunks(self, sha: str) -> Iterator[bytes]:
        with open(self.require(sha), "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def scratch_dir(self) -> Path:
        """A fresh private directory for a stage's temporary files."""
        return Path(tempfile.mkdtemp(dir=self.tmp_dir, prefix="stage-"))

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free
