"""Limits on artifact streams, so that one token holder cannot starve the runner.

Every call holds one of the server's worker threads while it runs. An upload that sends its
header and then nothing, or a download whose reader stops reading, would hold it forever; twenty
of them fill the pool and every other call (a stage, GetCapabilities) waits. So:

- each PutArtifact and GetArtifact stream that moves nothing for `idle_seconds` is ended by the
  runner with DEADLINE_EXCEEDED (code IDLE_TIMEOUT), its worker freed, a partial upload removed;
- one client (one peer address) may have at most `per_client` transfers open at once, and all
  clients together at most `total`, which leaves worker threads for everything else; a transfer
  over either cap is refused at once with RESOURCE_EXHAUSTED (code TOO_MANY_TRANSFERS).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import grpc

from .errors import RunnerError

log = logging.getLogger("trtpipe_runner")

# Worker threads never given to transfers: a stage, capabilities and HasArtifacts always find one.
RESERVED_WORKERS = 4


class TransferRefused(RunnerError):
    """Too many transfers open: from this client, or from all of them (RESOURCE_EXHAUSTED)."""

    code = "TOO_MANY_TRANSFERS"


class IdleTimeout(RunnerError):
    """A transfer moved nothing for too long and was ended by the runner (DEADLINE_EXCEEDED)."""

    code = "IDLE_TIMEOUT"


@dataclass(frozen=True)
class TransferLimits:
    """The runner's limits on artifact streams (`serve --stream-idle-seconds`, `--max-transfers-per-client`)."""

    idle_seconds: float = 60.0
    per_client: int = 8
    total: int = 12

    @staticmethod
    def for_workers(workers: int, idle_seconds: float = 60.0, per_client: int = 8) -> "TransferLimits":
        """Limits for a server of `workers` threads: transfers get all but RESERVED_WORKERS of them."""
        total = max(1, workers - RESERVED_WORKERS)
        return TransferLimits(idle_seconds, max(1, min(per_client, total)), total)


def client_of(peer: str) -> str:
    """The client a gRPC peer string names, without its port: "ipv4:10.0.0.7:51234" -> "ipv4:10.0.0.7"."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return f"{kind}:{rest.rsplit(':', 1)[0]}"
    return peer  # unix sockets and the like: one client per name


class Stream:
    """One open transfer: `touch()` whenever data moved; `expired` once the watchdog ended it."""

    def __init__(self, context: grpc.ServicerContext, what: str):
        self.context = context
        self.what = what
        self.last = time.monotonic()
        self.expired = False

    def touch(self) -> None:
        self.last = time.monotonic()

    def check(self, idle_seconds: float) -> None:
        """Raises IdleTimeout when the watchdog ended this stream."""
        if self.expired:
            raise IdleTimeout(f"{self.what}: nothing moved for {idle_seconds:g} s, so the runner ended the stream "
                              "(serve --stream-idle-seconds)")


class TransferGate:
    """Admits transfers under the caps and ends the ones that stall (see the module docstring)."""

    def __init__(self, limits: TransferLimits):
        self.limits = limits
        self._lock = threading.Lock()
        self._open: dict[Stream, str] = {}
        self._watchdog: threading.Thread | None = None

    @contextmanager
    def admit(self, context: grpc.ServicerContext, what: str) -> Iterator[Stream]:
        """Holds a transfer slot for the body; TransferRefused when the caps are reached."""
        client = client_of(context.peer())
        with self._lock:
            mine = sum(1 for c in self._open.values() if c == client)
            if mine >= self.limits.per_client:
                raise TransferRefused(f"{what}: this client already has {mine} transfers open, the most this runner "
                                      f"allows one client (serve --max-transfers-per-client); wait for one to end")
            if len(self._open) >= self.limits.total:
                raise TransferRefused(f"{what}: this runner already has {len(self._open)} transfers open, the most it "
                                      "allows at once (serve --workers); try again shortly")
            stream = Stream(context, what)
            self._open[stream] = client
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="transfer-watchdog", daemon=True)
                self._watchdog.start()
        try:
            yield stream
        finally:
            with self._lock:
                self._open.pop(stream, None)

    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def _watch(self) -> None:
        """Runs while transfers are open (started again by the next one)."""
        period = min(1.0, self.limits.idle_seconds / 4)
        while True:
            time.sleep(period)
            now = time.monotonic()
            with self._lock:
                if not self._open:
                    self._watchdog = None
                    return
                stalled = [s for s in self._open if not s.expired and now - s.last > self.limits.idle_seconds]
                for s in stalled:
                    s.expired = True
            for s in stalled:
                log.warning("%s (%s): idle for %.1f s, ending it", s.what, s.context.peer(), now - s.last)
                _end(s.context, grpc.StatusCode.DEADLINE_EXCEEDED,
                     f"{s.what}: nothing moved for {self.limits.idle_seconds:g} s, so the runner ended the stream "
                     "(serve --stream-idle-seconds)")


def _end(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    """Ends a call from outside its handler thread, unblocking the handler's read or write.

    grpcio's public `context.cancel()` ends it with a bare CANCELLED; its call object (the same one
    `cancel()` uses, grpc/_server.py) can end it with a status and message the client can act on.
    """
    call = getattr(getattr(context, "_rpc_event", None), "call", None)
    try:
        call.cancel(code.value[0], message.encode())  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - another grpcio: the public way, without the message
        context.cancel()
