"""The protocol check at connection: a client says which runner protocol it speaks in the
`trtpipe-protocol` metadata of every call; a client of another major version is refused with
FAILED_PRECONDITION and a message naming both versions. Clients that say nothing (grpcurl, the
standard health checkers) are served: the check is for trtpipe clients, which always say it."""
from __future__ import annotations

import re

import grpc

from . import PROTOCOL, __version__
from .auth import HEALTH_PREFIX, refusing_handler
from .gen import runner_pb2 as pb
from .servicer import ERROR_METADATA_KEY

METADATA_KEY = "trtpipe-protocol"
CLIENT_VERSION_KEY = "trtpipe-client-version"
_VERSION = re.compile(r"^trtpipe\.runner\.v(\d+)\.(\d+)$")


def parse(protocol: str) -> tuple[int, int] | None:
    """(major, minor) of `trtpipe.runner.v<major>.<minor>`, None for anything else."""
    m = _VERSION.match(protocol)
    return (int(m.group(1)), int(m.group(2))) if m else None


def refusal(client_protocol: str, client_version: str = "") -> str | None:
    """Why a client that speaks `client_protocol` cannot be served, or None when it can.

    Args:
        client_protocol: the client's `trtpipe-protocol` value.
        client_version: the client's own version, when it sent one (for the message).
    Returns:
        The message for the client, naming both versions, or None.
    """
    ours, theirs = parse(PROTOCOL), parse(client_protocol)
    if theirs is not None and ours is not None and theirs[0] == ours[0]:
        return None
    who = f"trtpipe {client_version}" if client_version else "the client"
    return (f"incompatible runner protocol: {who} speaks {client_protocol}, this runner "
            f"(trtpipe-runner {__version__}) speaks {PROTOCOL}; install a trtpipe-runner and a trtpipe "
            f"of the same protocol major version")


class ProtocolInterceptor(grpc.ServerInterceptor):
    """Refuses calls from clients of another protocol major version (the health service excepted)."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(HEALTH_PREFIX):
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        sent = metadata.get(METADATA_KEY)
        if sent is None:
            return handler
        message = refusal(sent, metadata.get(CLIENT_VERSION_KEY, ""))
        if message is None:
            return handler
        detail = pb.ErrorDetail(kind=pb.ERROR_KIND_USER, code="PROTOCOL_MISMATCH", message=message)
        return refusing_handler(handler, grpc.StatusCode.FAILED_PRECONDITION, message,
                                ((ERROR_METADATA_KEY, detail.SerializeToString()),))
