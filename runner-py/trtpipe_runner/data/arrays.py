"""Reading .npz and .npy files a client sent: whatever is wrong with the bytes (a truncated or
corrupt zip, a bad .npy header, object arrays, an array that declares more elements than memory
holds) is a DATA_UNREADABLE user error naming the data, never a trtpipe bug."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import UserError

# What numpy and zipfile raise for bytes that are not a readable array file: ValueError (bad
# header, object arrays without pickle, a short read), OSError, EOFError, BadZipFile (truncated
# or corrupt zip, bad CRC), zlib.error (corrupt compressed member), KeyError (a member the
# directory names but the zip lacks), MemoryError (a header declaring a huge array).
_UNREADABLE = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, MemoryError)


def read_npz(path: Path, what: str, name: str = "", code: str = "DATA_UNREADABLE") -> dict[str, np.ndarray]:
    """Every array of an .npz file.

    Args:
        path: the file.
        what: how to call the data in errors ("calibration data").
        name: the file's name in a data folder, for the message.
        code: the error's code (a stage input that is not user data: STAGE_INPUT_INVALID).
    Raises:
        UserError (`code`) when the file is not a readable .npz.
    """
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not an .npz archive")
        with npz:
            return {k: npz[k] for k in npz.files}
    except _UNREADABLE as exc:
        raise _unreadable(what, name, ".npz", exc, code) from None


def read_npy(path: Path, what: str, name: str = "") -> np.ndarray:
    """The array of an .npy file (see read_npz)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except _UNREADABLE as exc:
        raise _unreadable(what, name, ".npy", exc) from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise _unreadable(what, name, ".npy", ValueError("it is an .npz archive"))
    return arr


def _unreadable(what: str, name: str, kind: str, exc: BaseException, code: str = "DATA_UNREADABLE") -> UserError:
    where = f" {name}" if name else ""
    reason = "it declares an array larger than this runner's memory" if isinstance(exc, MemoryError) else (
        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return UserError(f"{what}{where}: not a readable {kind} file ({reason})", code=code)
