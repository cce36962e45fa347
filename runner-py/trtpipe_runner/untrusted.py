"""Reading what a client sent (params, JSON artifacts, files named by path) without trusting it.

Every failure here is a UserError with a code the caller chooses: deep nesting is not a
RecursionError, an integer of 5,000 digits is not a ValueError, a FIFO does not block the
reading thread, a 1 TB file is refused by its size before a byte is read.
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from .errors import UserError

# How deep params and JSON artifacts may nest: the stage contract's deepest params (a build's
# input_shapes: params.input_shapes.<input>.min[i]) nest 4 levels; runner-made artifacts 5.
MAX_JSON_DEPTH = 32


def parse_json(text: str | bytes, what: str, code: str, *, finite: bool = False) -> Any:
    """Parses JSON a client sent.

    Args:
        text: the JSON text.
        what: how to name it in errors ("params_json").
        code: the UserError code for anything that is not acceptable JSON.
        finite: refuse NaN and Infinity (JSON has no such literals; Python's parser takes them).
    Returns:
        The parsed value, nesting at most MAX_JSON_DEPTH levels.
    Raises:
        UserError(code) saying what is wrong.
    """

    def refuse_constant(name: str) -> Any:
        raise UserError(f"{what}: {name} is not a JSON number (send a finite number)", code=code)

    try:
        value = json.loads(text, parse_constant=refuse_constant if finite else None)
    except json.JSONDecodeError as exc:
        raise UserError(f"{what} is not JSON: {exc}", code=code) from None
    except RecursionError:
        raise UserError(f"{what} nests too deeply (at most {MAX_JSON_DEPTH} levels)", code=code) from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", code=code) from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise UserError(f"{what} holds a number Python cannot read ({exc})", code=code) from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise UserError(f"{what} nests too deeply (at most {MAX_JSON_DEPTH} levels)", code=code)
    return value


def parse_json_object(text: str | bytes, what: str, code: str, *, finite: bool = False) -> dict[str, Any]:
    """parse_json, and the value must be an object."""
    value = parse_json(text, what, code, finite=finite)
    if not isinstance(value, dict):
        raise UserError(f"{what} must be a JSON object, got {_json_type(value)}", code=code)
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (iterative: the check itself cannot recurse too deep)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > limit:
                return True
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return False


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number" if not isinstance(value, float) or math.isfinite(value) else "a non-finite number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__


def open_regular(path: Path | str, limit: int, what: str, code: str) -> BinaryIO:
    """Opens a file named by a client or a pipeline for reading, refusing what is not a regular file.

    The open never blocks: a FIFO is opened non-blocking and refused by its type, as are device
    files (/dev/zero), sockets and folders; a file over `limit` bytes is refused by its size.

    Args:
        path: the file.
        limit: the most bytes it may hold.
        what: how to name it in errors.
        code: the UserError code.
    Returns:
        The file, open in binary mode at offset 0 (blocking reads again).
    Raises:
        UserError(code) naming the file and the problem.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot open it ({exc.strerror or exc})", code=code) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{what} {path} is not a regular file ({_file_kind(st.st_mode)})", code=code)
        if st.st_size > limit:
            raise UserError(f"{what} {path} has {st.st_size} bytes, over the limit of {limit}", code=code)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"
