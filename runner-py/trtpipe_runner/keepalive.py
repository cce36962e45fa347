"""The runner's half of the keepalive contract (docs/architecture.md, "Long stages").

The orchestrator's client pings every connection every `client_keepalive_ms()`
(30 s), with or without calls in flight, to find dead connections. A gRPC
core server (grpcio) answers pings that come more often than its minimum
interval (default 5 minutes) while it sends no data with a strike, and after
`max_ping_strikes` (2) with GOAWAY `too_many_pings`: grpc-js reports that as
RESOURCE_EXHAUSTED and the stage in flight dies. So the server accepts pings
three times as often as the client sends them, also between calls.

Independently, the servicer sends a Heartbeat on a stage's stream whenever the
stage said nothing for `heartbeat_seconds()` (10 s): proxies and load
balancers between orchestrator and runner end streams that carry no data for
a while (often 60 s), and HTTP/2 pings do not cross them.

`TRTPIPE_GRPC_KEEPALIVE_MS` scales the client's interval on both ends (the
orchestrator reads the same variable) and `TRTPIPE_STAGE_HEARTBEAT_MS` the
heartbeat: tests run hours of protocol in seconds with them. Leave both unset
in production.
"""
from __future__ import annotations

import os

CLIENT_KEEPALIVE_MS = 30_000
HEARTBEAT_MS = 10_000
KEEPALIVE_ENV = "TRTPIPE_GRPC_KEEPALIVE_MS"
HEARTBEAT_ENV = "TRTPIPE_STAGE_HEARTBEAT_MS"
# The arguments' names in gRPC core. GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS
# is spelled without "recv"; an unknown name would be ignored without a word.
MIN_RECV_PING_INTERVAL = "grpc.http2.min_ping_interval_without_data_ms"
MAX_PING_STRIKES = "grpc.http2.max_ping_strikes"
PERMIT_WITHOUT_CALLS = "grpc.keepalive_permit_without_calls"


def _env_ms(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of milliseconds >= 1, not {raw!r}")
    return int(raw)


def client_keepalive_ms() -> int:
    """How often the orchestrator's client pings (30 s unless TRTPIPE_GRPC_KEEPALIVE_MS)."""
    return _env_ms(KEEPALIVE_ENV, CLIENT_KEEPALIVE_MS)


def heartbeat_seconds() -> float:
    """Longest silence on a stage's stream (10 s unless TRTPIPE_STAGE_HEARTBEAT_MS)."""
    return _env_ms(HEARTBEAT_ENV, HEARTBEAT_MS) / 1000.0


def server_options() -> list[tuple[str, int]]:
    """The server's ping policy, set against the client's keepalive interval."""
    return [
        # A third of the client's interval: timer jitter and a ping delayed
        # behind a large write never make a well-behaved client look abusive.
        (MIN_RECV_PING_INTERVAL, max(1, client_keepalive_ms() // 3)),
        # gRPC's default, stated: a client pinging faster than the contract
        # still loses its connection after two warnings.
        (MAX_PING_STRIKES, 2),
        # The client pings idle connections too (between stages, during long
        # uploads on other connections); without this the server would allow
        # only one ping per two hours on them.
        (PERMIT_WITHOUT_CALLS, 1),
    ]
