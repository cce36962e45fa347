"""The gRPC service: protocol messages in, domain calls, protocol messages out.

This is the only module that maps runner errors to gRPC status codes
(`_status_for`), and the only one that knows the generated message types.
"""
from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Iterator

import grpc

from .artifacts import ArtifactStore, check_sha
from .cancel import CancelToken
from .capabilities import probe_all
from .errors import Cancelled, IntegrityError, InternalError, NotFoundError, RunnerError, UnsupportedError, UserError
from .gen import runner_pb2 as pb
from .gen import runner_pb2_grpc as pb_grpc
from .host_code import engine_host_code
from .jsonsafe import dumps
from .keepalive import heartbeat_seconds
from .lease.leases import Lease
from .stages import get_leased_stage, parse_stage_params
from .stages import import_all as import_all_stages
from .stages.context import StageContext, StageOutput
from .transfers import IdleTimeout, TransferGate, TransferLimits, TransferRefused
from .untrusted import parse_json

log = logging.getLogger("trtpipe_runner")
ERROR_METADATA_KEY = "trtpipe-error-bin"
MAX_CHUNK = 1 << 20
LEVELS = {"debug": pb.LOG_LEVEL_DEBUG, "info": pb.LOG_LEVEL_INFO, "warning": pb.LOG_LEVEL_WARNING,
          "error": pb.LOG_LEVEL_ERROR}


def _status_for(exc: BaseException) -> tuple[grpc.StatusCode, pb.ErrorDetail]:
    if isinstance(exc, RunnerError):
        kind = pb.ERROR_KIND_INTERNAL if isinstance(exc, InternalError) else pb.ERROR_KIND_USER
        detail = pb.ErrorDetail(kind=kind, code=exc.code, message=exc.message, node=exc.node, input=exc.input)
        if isinstance(exc, InternalError):
            detail.traceback = traceback.format_exc()
        code = (
            grpc.StatusCode.NOT_FOUND if isinstance(exc, NotFoundError)
            else grpc.StatusCode.DATA_LOSS if isinstance(exc, IntegrityError)
            else grpc.StatusCode.UNIMPLEMENTED if isinstance(exc, UnsupportedError)
            else grpc.StatusCode.CANCELLED if isinstance(exc, Cancelled)
            else grpc.StatusCode.INTERNAL if isinstance(exc, InternalError)
            else grpc.StatusCode.RESOURCE_EXHAUSTED if isinstance(exc, TransferRefused)
            else grpc.StatusCode.DEADLINE_EXCEEDED if isinstance(exc, IdleTimeout)
            else grpc.StatusCode.INVALID_ARGUMENT
        )
        return code, detail
    detail = pb.ErrorDetail(kind=pb.ERROR_KIND_INTERNAL, code="INTERNAL",
                            message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    return grpc.StatusCode.INTERNAL, detail


def _abort(context: grpc.ServicerContext, exc: BaseException):
    code, detail = _status_for(exc)
    if detail.kind == pb.ERROR_KIND_INTERNAL:
        log.error("internal error: %s\n%s", detail.message, detail.traceback)
    context.set_trailing_metadata(((ERROR_METADATA_KEY, detail.SerializeToString()),))
    context.abort(code, detail.message)


class RunnerServicer(pb_grpc.RunnerServiceServicer):
    def __init__(self, store: ArtifactStore, max_artifact_bytes: int = 64 << 30, accept_paths: bool = False,
                 transfers: TransferLimits | None = None, allow_engine_host_code: bool = False):
        self.store = store
        self.allow_engine_host_code = allow_engine_host_code
        self.transfers = TransferGate(transfers or TransferLimits())
        self.max_artifact_bytes = max_artifact_bytes
        self.accept_paths = accept_paths
        self._active: set[CancelToken] = set()
        self._lock = threading.Lock()
        self.heartbeat_seconds = heartbeat_seconds()
        self._static_caps: dict | None = None
        self._caps_lock = threading.Lock()
        self.warmed = threading.Event()

    def capabilities(self) -> dict:
        """probe_all, with what cannot change while the runner lives (backends, GPUs, versions) probed
        once: importing torch or creating a TensorRT Builder takes seconds, and every client that
        connects asks (a pool of four connected in turn waited for four probes). Free disk is fresh."""
        with self._caps_lock:
            if self._static_caps is None:
                self._static_caps = probe_all(str(self.store.root))
            caps = dict(self._static_caps)
        caps["free_disk_bytes"] = shutil.disk_usage(self.store.root).free
        return caps

    def warm_up(self) -> None:
        """Probes in the background now, then imports the stage modules, so that neither the first
        client nor the first stage of each kind waits for it (`warmed` is set when done)."""
        def warm() -> None:
            try:
                self.capabilities()
            except Exception:  # noqa: BLE001 - GetCapabilities probes again and reports the error
                log.debug("capability warm-up failed", exc_info=True)
            failed = import_all_stages()
            if failed:
                log.debug("stage modules that did not import (their stages will say why): %s", ", ".join(failed))
            self.warmed.set()

        threading.Thread(target=warm, name="warm-up", daemon=True).start()

    def cancel_all(self) -> None:
        """Cancels every running stage (server shutdown)."""
        with self._lock:
            tokens = list(self._active)
        for t in tokens:
            t.cancel()

    # ------------------------------------------------------------ capabilities
    def GetCapabilities(self, request, context):
        try:
            caps = self.capabilities()
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)
        return pb.GetCapabilitiesResponse(
            runner_version=caps["runner_version"],
            protocol=caps["protocol"],
            backends=[pb.Backend(name=b.name, available=b.available, version=b.version,
                                 unavailable_reason=b.reason, precisions=b.precisions,
                                 wider_precisions=b.wider_precisions, emulated_precisions=b.emulated_precisions)
                      for b in caps["backends"]],
            gpus=[pb.Gpu(index=g.index, name=g.name, compute_capability=g.compute_capability,
                         memory_bytes=g.memory_bytes, driver_version=g.driver_version, cuda_version=g.cuda_version)
                  for g in caps["gpus"]],
            versions=caps["versions"], hostname=caps["hostname"], cpu_count=caps["cpu_count"],
            free_disk_bytes=caps["free_disk_bytes"], memory_bytes=caps["memory_bytes"],
        )

    # --------------------------------------------------------------- artifacts
    def PutArtifact(self, request_iterator, context):
        try:
            with self.transfers.admit(context, "PutArtifact") as stream:
                try:
                    return self._put(request_iterator, context, stream)
                except Exception:
                    stream.check(self.transfers.limits.idle_seconds)  # ended for idling: say so, not what broke
                    raise
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)

    def _put(self, request_iterator, context, stream) -> pb.PutArtifactResponse:
        first = next(request_iterator, None)
        stream.touch()
        if first is None or first.WhichOneof("part") != "header":
            stream.check(self.transfers.limits.idle_seconds)
            raise UserError("PutArtifact must start with a header message", code="PROTOCOL")
        header = first.header
        check_sha(header.sha256)
        if header.size > self.max_artifact_bytes:
            raise UserError(f"artifact of {header.size} bytes exceeds this runner's limit of "
                            f"{self.max_artifact_bytes} bytes", code="TOO_LARGE")
        if self.store.intact(header.sha256):
            for _ in request_iterator:  # drain: the client may already be sending
                stream.touch()
            stream.check(self.transfers.limits.idle_seconds)
            return pb.PutArtifactResponse(artifact=header, already_present=True)
        writer = self.store.writer(header.sha256, header.size)
        try:
            for msg in request_iterator:
                stream.touch()
                if msg.WhichOneof("part") != "chunk":
                    raise UserError("PutArtifact: only the first message may be a header", code="PROTOCOL")
                if len(msg.chunk) > MAX_CHUNK:
                    raise UserError(f"chunk of {len(msg.chunk)} bytes exceeds 1 MiB", code="PROTOCOL")
                writer.write(msg.chunk)
            stream.check(self.transfers.limits.idle_seconds)
            if not context.is_active():
                raise Cancelled("upload cancelled")
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        return pb.PutArtifactResponse(artifact=header, already_present=False)

    def ImportArtifact(self, request, context):
        try:
            if not self.accept_paths:
                raise UnsupportedError("this runner takes no files by path (only the local runner trtpipe spawns "
                                       "does); send the bytes with PutArtifact", code="PATHS_NOT_ACCEPTED")
            ref = request.artifact
            check_sha(ref.sha256)
            if not os.path.isabs(request.path):
                raise UserError(f"ImportArtifact needs an absolute path, got {request.path!r}", code="PROTOCOL")
            present = self.store.intact(ref.sha256)
            if not present:
                self.store.import_file(Path(request.path), ref.sha256, ref.size, limit=self.max_artifact_bytes)
            return pb.PutArtifactResponse(artifact=ref, already_present=present)
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)

    def HasArtifacts(self, request, context):
        try:
            return pb.HasArtifactsResponse(present=[s for s in request.sha256 if self.store.intact(check_sha(s))])
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)

    def GetArtifact(self, request, context):
        try:
            sha = check_sha(request.sha256)
            with self.transfers.admit(context, f"GetArtifact {sha[:12]}") as stream:
                size = self.store.size(sha)
                yield pb.GetArtifactResponse(header=pb.ArtifactRef(sha256=sha, size=size))
                for chunk in self.store.iter_chunks(sha):
                    stream.touch()  # the last piece was taken: a reader that stops reading stops this
                    if not context.is_active():
                        return
                    yield pb.GetArtifactResponse(chunk=chunk)
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)

    # ------------------------------------------------------------------ stages
    def RunStage(self, request, context) -> Iterator[pb.RunStageResponse]:
        token = CancelToken()
        context.add_callback(token.cancel)
        with self._lock:
            self._active.add(token)
        events: queue.Queue = queue.Queue()
        try:
            run = get_leased_stage(request.stage)
            raw = parse_json(request.params_json, "params_json", "PROTOCOL", finite=True) if request.params_json else {}
            params = parse_stage_params(request.stage, raw)
            inputs = {k: check_sha(v.sha256) for k, v in request.inputs.items()}
            ctx = StageContext(self.store, token, inputs, params, request.cell,
                               emit=lambda kind, payload: events.put((kind, payload)), stage=request.stage,
                               allow_engine_host_code=self.allow_engine_host_code)
            worker = threading.Thread(target=_work, args=(run, ctx, events), name=f"stage-{request.stage}",
                                      daemon=True)
            log.info("stage %s for %s: start", request.stage, request.cell or "-")
            started = time.perf_counter()
            worker.start()
            while True:
                try:
                    kind, payload = events.get(timeout=self.heartbeat_seconds)
                except queue.Empty:  # the stage said nothing for a while: keep the stream busy
                    yield pb.RunStageResponse(heartbeat=pb.Heartbeat(elapsed_seconds=time.perf_counter() - started))
                    continue
                if kind == "progress":
                    yield pb.RunStageResponse(progress=pb.Progress(fraction=payload[0], message=payload[1]))
                elif kind == "log":
                    yield pb.RunStageResponse(log=pb.LogLine(level=LEVELS.get(payload[0], pb.LOG_LEVEL_INFO),
                                                             message=payload[1]))
                elif kind == "lease":
                    yield pb.RunStageResponse(lease=_lease_message(payload))
                elif kind == "result":
                    log.info("stage %s for %s: done in %.2fs", request.stage, request.cell or "-", payload[1])
                    yield pb.RunStageResponse(result=_result_message(*payload))
                    return
                elif kind == "error":
                    raise payload
        except Exception as exc:  # noqa: BLE001
            if token.cancelled and not isinstance(exc, Cancelled):
                exc = Cancelled("the stage was cancelled by the client")
            (log.warning if isinstance(exc, Cancelled) else log.info)(
                "stage %s for %s: %s", request.stage, request.cell or "-", type(exc).__name__)
            _abort(context, exc)
        finally:
            with self._lock:
                self._active.discard(token)


def _work(run, ctx: StageContext, events: queue.Queue) -> None:
    t0 = time.perf_counter()
    try:
        with engine_host_code(ctx.allow_engine_host_code):
            result = run(ctx)
        result.leases = list(ctx.leases)
        events.put(("result", (result, time.perf_counter() - t0)))
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the client
        events.put(("error", exc))
    finally:
        ctx.cleanup()


def _lease_message(lease: Lease) -> pb.DeviceLease:
    return pb.DeviceLease(device=lease.device, holder=lease.holder,
                          mode=pb.LEASE_MODE_EXCLUSIVE if lease.exclusive else pb.LEASE_MODE_SHARED,
                          requested_at=lease.requested_at, acquired_at=lease.acquired_at,
                          released_at=lease.released_at, enforced=lease.enforced, waited_for=lease.waited_for)


def _result_message(result: StageOutput, seconds: float) -> pb.StageResult:
    return pb.StageResult(
        outputs={k: pb.ArtifactRef(sha256=o.sha256, size=o.size, media_type=o.media_type)
                 for k, o in result.outputs.items()},
        metrics={k: float(v) for k, v in result.metrics.items()},
        details_json=dumps(result.details),
        diagnostics=[pb.Diagnostic(level=LEVELS.get(d.get("level", "info"), pb.LOG_LEVEL_INFO), code=d.get("code", ""),
                                   message=d.get("message", ""), node=d.get("node", ""))
                     for d in result.diagnostics],
        seconds=seconds,
        output_parts={k: pb.ArtifactParts(parts=[pb.ArtifactRef(sha256=p.sha256, size=p.size, media_type=p.media_type)
                                                 for p in o.parts])
                      for k, o in result.outputs.items() if o.parts},
        leases=[_lease_message(lease) for lease in result.leases],
    )
