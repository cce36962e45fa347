"""Bearer-token check for every call except the standard health service."""
from __future__ import annotations

import hmac

import grpc

HEALTH_PREFIX = "/grpc.health.v1.Health/"


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuses calls whose `authorization` metadata is not `Bearer <token>`."""

    def __init__(self, token: str):
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(HEALTH_PREFIX):
            return handler
        sent = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        if hmac.compare_digest(sent.encode(), self._expected):
            return handler
        message = "missing bearer token" if not sent else "wrong bearer token"
        return refusing_handler(handler, grpc.StatusCode.UNAUTHENTICATED, message)


def refusing_handler(handler, code: grpc.StatusCode, message: str, trailing_metadata=()):
    """A handler of the same kind as `handler` that aborts with `code` and `message`."""

    def abort(_request, context):
        if trailing_metadata:
            context.set_trailing_metadata(trailing_metadata)
        context.abort(code, message)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort)
    return grpc.unary_unary_rpc_method_handler(abort)
