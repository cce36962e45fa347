"""Creating, starting and stopping the runner's gRPC server."""
from __future__ import annotations

import logging
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from .artifacts import ArtifactStore
from .auth import BearerTokenInterceptor
from .gen import runner_pb2_grpc as pb_grpc
from .keepalive import server_options
from .protocol import ProtocolInterceptor
from .servicer import RunnerServicer
from .transfers import TransferLimits

log = logging.getLogger("trtpipe_runner")
SERVICE_NAME = "trtpipe.runner.v1.RunnerService"

# Messages carry at most a 1 MiB chunk plus framing, or stage results; 16 MiB
# leaves room for large lockfiles/details without inviting abuse.
MESSAGE_LIMIT = 16 << 20
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MESSAGE_LIMIT),
    ("grpc.max_send_message_length", MESSAGE_LIMIT),
    ("grpc.so_reuseport", 0),
    # A larger HTTP/2 window and frame size let 1 MiB chunks stream without
    # waiting for window updates on every few frames.
    ("grpc.http2.lookahead_bytes", 16 << 20),
    ("grpc.http2.max_frame_size", 16 << 20),
]


class RunnerServer:
    """A started server with its servicer, port and health service."""

    def __init__(self, server: grpc.Server, servicer: RunnerServicer, health_servicer, port: int,
                 health_server: grpc.Server | None = None, health_port: int = 0):
        self.server = server
        self.servicer = servicer
        self.health = health_servicer
        self.port = port
        self.health_server = health_server
        self.health_port = health_port

    def stop(self, grace: float = 5.0) -> None:
        """Stops accepting calls; running stages get `grace` seconds, then are cancelled."""
        self.health.enter_graceful_shutdown()
        event = self.server.stop(grace)
        if not event.wait(grace + 0.5):
            self.servicer.cancel_all()
        self.servicer.cancel_all()
        event.wait(5)
        if self.health_server is not None:
            self.health_server.stop(0).wait(5)


def create_server(address: str, token: str, store_root: Path, max_workers: int = 16,
                  credentials: grpc.ServerCredentials | None = None,
                  max_artifact_bytes: int = 64 << 30, accept_paths: bool = False,
                  health_address: str | None = None, transfers: TransferLimits | None = None,
                  allow_engine_host_code: bool = False) -> RunnerServer:
    """Creates and starts a runner server.

    Args:
        address: host:port to bind; port 0 picks a free one.
        token: the bearer token every non-health call must carry.
        store_root: directory of the artifact store.
        max_workers: concurrent RPCs.
        credentials: TLS credentials, or None for plaintext (loopback).
        max_artifact_bytes: uploads larger than this are refused (TOO_LARGE).
        accept_paths: take files on this host by path (ImportArtifact): only for a
            runner on the orchestrator's own host, never one others can reach.
        health_address: host:port of a second, plaintext listener that serves only the standard
            health service: for probes that cannot speak TLS (Kubernetes' gRPC probe) when
            `credentials` is set. It shares the health state, so a stopping runner reads NOT_SERVING there too.
        transfers: idle timeout and caps of artifact streams (transfers.py); default: 60 s, 8 per
            client, all workers but 4 in all.
        allow_engine_host_code: load engines that embed host code (TensorRT version-compatible
            engines), i.e. run code a client sent (`serve --allow-engine-host-code`).
    Returns:
        RunnerServer with the bound port.
    """
    store = ArtifactStore(Path(store_root))
    servicer = RunnerServicer(store, max_artifact_bytes, accept_paths,
                              transfers or TransferLimits.for_workers(max_workers), allow_engine_host_code)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        interceptors=[BearerTokenInterceptor(token), ProtocolInterceptor()],
        options=SERVER_OPTIONS + server_options(),
    )
    pb_grpc.add_RunnerServiceServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind {address}")
    server.start()
    health_server, health_port = None, 0
    if health_address:
        health_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health"),
                                    options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
        health_port = health_server.add_insecure_port(health_address)
        if health_port == 0:
            server.stop(0)
            raise OSError(f"could not bind {health_address}")
        health_server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunnerServer(server, servicer, health_servicer, port, health_server, health_port)
