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
from .untrusted import open_regular

CHUNK = 1 << 20  # 1 MiB: the chunk size of the wire protocol
COPY_PIECE = 4 << 20  # copied (and hashed) at a time when a store takes a file by path (4 MiB: measured fastest)
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


def copy_file(source: Path, dest: Path) -> None:
    """Copies in the kernel (copy_file_range: no bytes through Python, and a
    reflink on file systems that share extents), else through user space."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(dest, "wb") as dst:
        _copy_range(src.fileno(), dst.fileno(), os.fstat(src.fileno()).st_size)


def _copy_range(src: int, dst: int, size: int, on_chunk=None) -> None:
    """Copies `size` bytes from fd `src` to fd `dst`; `on_chunk(offset, length)` after each piece."""
    offset = 0
    while offset < size:
        try:
            n = os.copy_file_range(src, dst, min(COPY_PIECE, size - offset))
        except OSError:  # not supported between these file systems: read and write
            n = os.write(dst, os.pread(src, min(COPY_PIECE, size - offset), offset))
            os.lseek(src, offset + n, os.SEEK_SET)
        if n == 0:
            raise IntegrityError(f"the file shrank while being copied (at byte {offset} of {size})")
        if on_chunk:
            on_chunk(offset, n)
        offset += n


def copy_and_hash(source: Path, dest: Path, limit: int = 1 << 62) -> str:
    """Copies `source` to `dest` and returns the sha256 of the bytes written there.

    `source` must be a regular file of at most `limit` bytes (untrusted.open_regular: a FIFO
    or a device file is refused, never waited on; IMPORT_UNREADABLE).

    The copy runs in the kernel on one thread while this one hashes each piece
    back from `dest` (page cache): about as fast as hashing alone, and what is
    verified is what was stored, even if `source` changed meanwhile.
    """
    pieces: queue.Queue = queue.Queue()
    h = hashlib.sha256()
    failure: list[BaseException] = []
    with open_regular(source, limit, "file", "IMPORT_UNREADABLE") as src, open(dest, "wb+") as dst:
        size = os.fstat(src.fileno()).st_size

        def copy() -> None:
            try:
                _copy_range(src.fileno(), dst.fileno(), size, lambda off, n: pieces.put((off, n)))
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failure.append(exc)
            finally:
                pieces.put(None)

        worker = threading.Thread(target=copy, name="artifact-copy", daemon=True)
        worker.start()
        buf = memoryview(bytearray(COPY_PIECE))  # reused: a fresh buffer per piece costs page faults
        while (piece := pieces.get()) is not None:
            off, n = piece
            h.update(buf[:os.preadv(dst.fileno(), [buf[:n]], off)])
        worker.join()
    if failure:
        raise failure[0]
    return h.hexdigest()


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
        self._store.verified(sha)
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

    def verified(self, sha: str) -> None:
        """Records that the blob just stored was hashed on its way in: its first use
        need not read it all again (a later change of size or mtime still does)."""
        st = self.path(sha).stat()
        self._verified[sha] = (st.st_mtime_ns, st.st_size)

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
        self.verified(sha)
        return sha

    def import_file(self, source: Path, expected_sha: str | None = None, expected_size: int | None = None,
                    limit: int = 1 << 62) -> str:
        """Takes a file on this host into the store by path; the source stays.

        A copy (in the kernel, see `copy_and_hash`), not a hard link: onnx refuses
        external data files with more than one link, which would break the owner's
        own model, and a linked file could be rewritten in place under the store.
        The stored bytes must match `expected_sha`/`expected_size` when given; `source` must be
        a regular file of at most `limit` bytes (a FIFO or device file is refused, not read).
        """
        if expected_sha is not None and self.intact(check_sha(expected_sha)):
            return expected_sha
        folder = Path(tempfile.mkdtemp(dir=self.tmp_dir, prefix="import-"))
        try:
            tmp = folder / "blob"
            try:
                sha = copy_and_hash(Path(source), tmp, limit)
            except OSError as exc:
                raise UserError(f"cannot read {source}: {exc.strerror or exc}", code="IMPORT_UNREADABLE") from None
            size = tmp.stat().st_size
            if expected_size is not None and size != expected_size:
                raise IntegrityError(f"{source} has {size} bytes, not the declared {expected_size}: it changed")
            if expected_sha is not None and sha != expected_sha:
                raise IntegrityError(f"{source} hashes to {sha}, not the declared {expected_sha}: it changed")
            dest = self.path(sha)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
            self.verified(sha)
            return sha
        finally:
            shutil.rmtree(folder, ignore_errors=True)

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
