"""`python -m trtpipe_runner` / `trtpipe-runner`: serve, capabilities, run-stage."""
from __future__ import annotations

import argparse
import faulthandler
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .host_code import FLAG as HOST_CODE_FLAG
from .stages import STAGES

TOKEN_ENV = "TRTPIPE_RUNNER_TOKEN"


def build_parser() -> argparse.ArgumentParser:
    """The command line (also what tests hold the Dockerfile's and the Kubernetes example's flags against)."""
    parser = argparse.ArgumentParser(prog="trtpipe-runner", description="trtpipe's gRPC runner")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the runner API")
    serve.add_argument("--listen", default="127.0.0.1:0", help="host:port (port 0 picks a free one)")
    serve.add_argument("--store", default=os.environ.get("TRTPIPE_RUNNER_STORE", ".trtpipe-runner"),
                       help="artifact store directory")
    serve.add_argument("--workers", type=int, default=16, help="concurrent calls")
    serve.add_argument("--grace", type=float, default=5.0, help="seconds running stages get on SIGTERM")
    serve.add_argument("--tls-cert", help="PEM certificate (enables TLS)")
    serve.add_argument("--tls-key", help="PEM private key")
    serve.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates signed by it")
    serve.add_argument("--health-listen", metavar="HOST:PORT",
                       help="also serve the health service alone, in plaintext, here (for Kubernetes' gRPC "
                            "probes, which cannot speak TLS)")
    serve.add_argument("--max-artifact-mib", type=int, default=64 * 1024,
                       help="refuse uploads larger than this (MiB, default 65536)")
    serve.add_argument("--accept-paths", action="store_true",
                       help="take artifacts by path from this host's file system (the local runner trtpipe spawns)")
    serve.add_argument("--stream-idle-seconds", type=float, default=60.0,
                       help="end an upload or download that moved nothing for this long (default 60)")
    serve.add_argument("--max-transfers-per-client", type=int, default=8,
                       help="uploads and downloads one client address may have open at once (default 8)")
    serve.add_argument(HOST_CODE_FLAG, action="store_true",
                       help="build and load TensorRT engines that embed host code (version_compatible): lets every "
                            "token holder run code on this host")
    serve.add_argument("--log-level", default="info")
    caps = sub.add_parser("capabilities", help="print what this runner can do, as JSON")
    caps.add_argument("--store", default=".")
    stage = sub.add_parser("run-stage", help="run one stage in this process (no orchestrator, no gRPC)")
    stage.add_argument("stage", help=", ".join(STAGES))
    stage.add_argument("--input", action="append", metavar="NAME=PATH|NAME=sha256:DIGEST",
                       help="a stage input: a file (copied into the store) or a stored artifact; repeatable")
    stage.add_argument("--params", metavar="JSON|@FILE", help="stage parameters as a JSON object")
    stage.add_argument("--store", default=os.environ.get("TRTPIPE_RUNNER_STORE", ".trtpipe-runner"),
                       help="artifact store directory (outputs stay there)")
    stage.add_argument("--json-out", metavar="FILE", help="where to write the result JSON (default: stdout)")
    stage.add_argument("--outputs-dir", metavar="DIR", help="also copy each output artifact to DIR/<name>")
    stage.add_argument(HOST_CODE_FLAG, action="store_true",
                       help="build and load TensorRT engines that embed host code (version_compatible)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "run-stage":
        from .run_stage import main as run_stage_main

        return run_stage_main(args)
    return _capabilities(args)


def _serve(args) -> int:
    # A native crash (a CUDA or TensorRT library) would otherwise end the runner without a word: the
    # client sees only a dropped connection. With faulthandler its stack lands in the runner's log.
    faulthandler.enable()
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s runner %(levelname)s %(message)s")
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"trtpipe-runner: set {TOKEN_ENV} to the bearer token clients must send", file=sys.stderr)
        return 2
    from .server import create_server

    credentials = None
    if args.tls_cert or args.tls_key:
        import grpc

        if not (args.tls_cert and args.tls_key):
            print("trtpipe-runner: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        client_ca = Path(args.tls_client_ca).read_bytes() if args.tls_client_ca else None
        credentials = grpc.ssl_server_credentials(
            [(Path(args.tls_key).read_bytes(), Path(args.tls_cert).read_bytes())],
            root_certificates=client_ca, require_client_auth=client_ca is not None)
    if credentials is None and not is_loopback(args.listen):
        print(f"trtpipe-runner: WARNING: listening on {args.listen} without TLS: the bearer token and every "
              "artifact cross the network in plaintext, readable by anyone on the path; give --tls-cert and "
              "--tls-key (README: Remote runners)", file=sys.stderr)
    if args.stream_idle_seconds <= 0 or args.max_transfers_per_client < 1:
        print("trtpipe-runner: --stream-idle-seconds must be > 0 and --max-transfers-per-client >= 1", file=sys.stderr)
        return 2
    from .transfers import TransferLimits

    try:
        server = create_server(args.listen, token, Path(args.store), args.workers, credentials,
                               max_artifact_bytes=args.max_artifact_mib << 20, accept_paths=args.accept_paths,
                               health_address=args.health_listen,
                               transfers=TransferLimits.for_workers(args.workers, args.stream_idle_seconds,
                                                                    args.max_transfers_per_client),
                               allow_engine_host_code=args.allow_engine_host_code)
    except ValueError as exc:  # a malformed TRTPIPE_* setting (keepalive.py)
        print(f"trtpipe-runner: {exc}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as exc:
        where = args.listen + (f" and {args.health_listen}" if args.health_listen else "")
        print(f"trtpipe-runner: cannot listen on {where}: {exc}", file=sys.stderr)
        return 3
    # Handlers first: whoever spawned us may signal as soon as it has read the port.
    stopping = threading.Event()

    def on_signal(signum, _frame):
        logging.getLogger("trtpipe_runner").info("signal %d: stopping (grace %.1fs)", signum, args.grace)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The one line on stdout: the bound port, for whoever spawned us. Anything
    # else printed later (libraries print progress) goes to stderr, so the
    # parent never has to drain a stdout pipe.
    print(server.port, flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.getLogger("trtpipe_runner").info("serving on port %d, store %s", server.port, args.store)
    server.servicer.warm_up()
    # Exit when the parent closes our stdin (the orchestrator died) as well.
    if not sys.stdin.isatty() and os.environ.get("TRTPIPE_RUNNER_WATCH_STDIN") == "1":
        threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True).start()
    stopping.wait()
    server.stop(args.grace)
    return 0


def is_loopback(address: str) -> bool:
    """Whether `host:port` binds only this host (127.0.0.0/8, ::1, localhost): the one place
    plaintext is safe. A name other than localhost counts as reachable from elsewhere."""
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _capabilities(args) -> int:
    from .capabilities import probe_all
    from .jsonsafe import sanitize

    print(json.dumps(sanitize(probe_all(args.store)), indent=2))
    return 0
