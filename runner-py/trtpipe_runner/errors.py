"""The two error families every layer of the runner raises.

UserError: the input is wrong (a model that is not ONNX, data that does not
match the model, a rule that matches nothing). The message says what, where
and how to fix it; no stack trace reaches the user.
InternalError (or any other exception): a bug in trtpipe; the traceback is
sent along so the report can be filed.

Mapping to gRPC status codes happens in exactly one place: servicer.py.
"""
from __future__ import annotations


class RunnerError(Exception):
    """Base class; `code` is a stable machine-readable identifier."""

    code = "RUNNER_ERROR"

    def __init__(self, message: str, *, code: str | None = None, node: str = "", input: str = ""):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.node = node
        self.input = input


class UserError(RunnerError):
    """Bad input: the caller can fix it. Maps to INVALID_ARGUMENT by default."""

    code = "INVALID_INPUT"


class NotFoundError(UserError):
    """A referenced artifact or stage does not exist on this runner."""

    code = "NOT_FOUND"


class IntegrityError(UserError):
    """Uploaded bytes do not match their declared hash or size."""

    code = "INTEGRITY"


class UnsupportedError(UserError):
    """The request is valid but this runner/backend cannot do it here."""

    code = "UNSUPPORTED"


class Cancelled(RunnerError):
    """The client cancelled the call; the stage stopped cooperatively."""

    code = "CANCELLED"


class InternalError(RunnerError):
    """A bug in trtpipe: an invariant that should hold did not."""

    code = "INTERNAL"
