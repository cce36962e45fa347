"""TensorRT backend: strongly typed build of the annotated model, explain, sessions.

build(): settings -> version checks -> NetworkFromOnnx (strongly typed:
10.x with STRONGLY_TYPED, 11.x by default; legacy weak typing on 10.x only)
-> profiles -> builder config -> timing cache of this target -> engine ->
inspector JSON with concrete shapes -> container (plan + sidecar + layers).
explain(): reads the container's inspector JSON (no GPU needed) and maps it
back to the annotated model's nodes. load(): a TrtSession on the device.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto

from ...cancel import CancelToken
from ...errors import UserError
from ...host_code import require_engine_host_code
from ...model.tensors import tensor_types
from ..base import Backend, BuildOutput, Capture, ExplainRow, Session
from .builder_pool import lent_builder
from .config import create_config
from .container import MEDIA_TYPE, EngineArtifact, read_artifact, write_artifact
from .device import current_identity
from .explain import BuildFacts, explain_engine
from .hardware import parse_cc, unsupported_reason
from .inspector import parse_engine_information
from .intent import intended_precisions
from .legacy import apply_weak_typing
from .loader import (
    engine_from_bytes,
    engine_from_network,
    import_tensorrt,
    inspect_engine,
    make_logger,
    network_from_onnx,
)
from .mark import mark_outputs
from .profiles import NetworkInput, derive_profile
from .settings import TrtBuildSettings, parse_lock, parse_settings
from .timing_cache import TimingCacheStore, cache_dir
from .version import check_supported, legacy_refusal, network_creation_flags, parse_version

# Graph element types whose precision needs hardware support (bf16, fp8).
_GRAPH_PRECISIONS = {TensorProto.BFLOAT16: "bf16", TensorProto.FLOAT8E4M3FN: "fp8",
                     TensorProto.FLOAT8E4M3FNUZ: "fp8", TensorProto.FLOAT8E5M2: "fp8"}


class TensorRTBackend(Backend):
    name = "tensorrt"

    def build(self, model_path: Path, scratch: Path, settings: dict[str, Any], cancel: CancelToken,
              log=None) -> BuildOutput:
        """Strongly typed build of the annotated model (see the module docstring and Backend.build)."""
        return self._build(model_path, scratch, settings, cancel, log)

    def capture(self, model, scratch: Path, settings: dict[str, Any], tensors: list[str], cancel: CancelToken,
                log=None) -> Capture:
        """An engine of `model` that also outputs `tensors`, marked in the parsed network as
        Polygraphy's `--trt-outputs mark all` does (mark.py): TensorRT then keeps them out of
        fusions, so this engine may fuse less than the one the build stage made."""
        path = scratch / "capture" / "model.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(model.SerializeToString())
        missing: dict[str, str] = {}
        built = self._build(path, scratch, settings, cancel, log, mark=list(tensors), unmarked=missing)
        session = self.load(built.engine, settings)
        returned = set(session.output_names())
        for t in tensors:
            if t not in returned and t not in missing:
                missing[t] = "the engine does not output it"
        return Capture(session, [t for t in tensors if t in returned], missing,
                       {"marked": len(tensors) - len(missing), "not_marked": len(missing)})

    def _build(self, model_path: Path, scratch: Path, settings: dict[str, Any], cancel: CancelToken, log=None,
               mark: list[str] | None = None, unmarked: dict[str, str] | None = None) -> BuildOutput:
        s = parse_settings(settings)
        if s.version_compatible:  # refused before minutes of building, not when the engine first loads
            require_engine_host_code("a version-compatible engine")
        trt = import_tensorrt()
        version = parse_version(trt.__version__)
        check_supported(version)
        if s.legacy_weak_typing and not version.has_weak_typing:
            raise legacy_refusal(version)
        say = log or (lambda message, level="info": None)
        # Seconds per phase outside the engine build itself, so a GPU run shows where the stage's
        # wall goes beyond what the raw API spends (bench/gpu_tensorrt.py compares the two).
        phases: dict[str, float] = {}
        phase_start = time.perf_counter()

        def finished(name: str) -> None:
            nonlocal phase_start
            now = time.perf_counter()
            phases[f"{name}_seconds"] = now - phase_start
            phase_start = now

        model = onnx.load(str(model_path), load_external_data=False)
        identity = current_identity(version.text)
        cc = parse_cc(identity.compute_capability)
        _check_hardware(model, cc, identity.gpu)
        finished("prepare")
        node_names = [n.name for n in model.graph.node]
        # A Builder kept from the last build (or the probe) saves seconds per build (builder_pool.py).
        with lent_builder(trt, log) as (builder, logger):
            finished("builder")
            network, parser = network_from_onnx(trt, builder, logger, model_path,
                                                network_creation_flags(trt, version, s.legacy_weak_typing),
                                                node_names, version.text)
            if mark:
                (unmarked if unmarked is not None else {}).update(mark_outputs(trt, network, mark))
            finished("parse")
            inputs = [NetworkInput(t.name, tuple(int(d) for d in t.shape), bool(t.is_shape_tensor))
                      for t in (network.get_input(i) for i in range(network.num_inputs))]
            profile = derive_profile(inputs, s)
            config, report = create_config(trt, builder, s, version, profile)
            legacy = _apply_legacy(trt, model, network, config, s, report) if s.legacy_weak_typing else None
            store, cache_bytes = _timing_cache(s, identity)
            if store is not None:
                cache_bytes = _attach_timing_cache(config, cache_bytes, say)
            cancel.check()
            say(f"building with TensorRT {version} on {identity.gpu} (sm {identity.compute_capability})")
            finished("configure")
            t0 = time.perf_counter()
            plan, engine = engine_from_network(trt, builder, network, config, logger, cancel,
                                               progress=lambda phase: say(f"TensorRT: {phase}"),
                                               version_compatible=s.version_compatible)
            build_seconds = time.perf_counter() - t0
            phase_start = time.perf_counter()
            cache_info = {"enabled": store is not None}
            if store is not None:
                timings = bytes(memoryview(config.get_timing_cache().serialize()))
                # A warm build that measured nothing new leaves the cache as it was loaded: no rewrite.
                path = store.path_for(identity) if timings == cache_bytes else store.save(identity, timings)
                cache_info.update(key=identity.key(), path=str(path), reused=cache_bytes is not None)
            finished("cache_save")
            runtime = None
            if engine is None:  # this TensorRT cannot hand over the built engine: load the plan
                runtime, engine = engine_from_bytes(trt, logger, plan, s.version_compatible)
            finished("load_engine")
            layers_json = inspect_engine(trt, engine, {e.name: e.opt for e in profile})
            engine_layers = engine.num_layers
            del engine, runtime  # in this order: an engine must not outlive its runtime
            del parser, network, config
            finished("inspect")
        sidecar = {
            "tensorrt_version": version.text,
            "strongly_typed": not s.legacy_weak_typing,
            "settings": s.to_json(),
            "profiles": [{e.name: e.to_json() for e in profile}] if profile else [],
            "builder_config": report.to_json(),
            "legacy": legacy,
            "lock_used": bool(s.lock),
            "target": {"gpu": identity.gpu, "compute_capability": identity.compute_capability,
                       "driver": identity.driver, "tensorrt": identity.tensorrt},
            "timing_cache": cache_info,
            "build_seconds": round(build_seconds, 3),
        }
        out = scratch / "engine.trtpipe"
        write_artifact(out, EngineArtifact(plan, sidecar, layers_json))
        finished("package")
        explained = explain_engine(model, parse_engine_information(layers_json), _facts(sidecar, s.lock))
        finished("explain")
        details = {"backend": self.name, "version": version.text, "device": identity.gpu, **sidecar,
                   "explain_summary": explained.summary}
        metrics = {"build_seconds": build_seconds, "engine_layers": float(engine_layers),
                   "plan_bytes": float(len(plan)), **phases}
        # explain's rows come with the build: the stage need not read the model and the engine again
        return BuildOutput(out, MEDIA_TYPE, details, metrics, explain=explained.rows)

    def load(self, engine_path: Path, settings: dict[str, Any]) -> Session:
        """A TrtSession on the current GPU; settings may carry `cuda_graph: true`."""
        from .runtime import TrtSession

        art = read_artifact(engine_path)
        return TrtSession(art.plan, art.settings, settings)

    def explain(self, model_path: Path, engine_path: Path, settings: dict[str, Any]) -> list[ExplainRow]:
        """Realized precision per node from the artifact's inspector JSON; settings may carry `lock`."""
        art = read_artifact(engine_path, with_plan=False)
        if art.layers_json is None:
            art = read_artifact(engine_path)
            art.layers_json = _inspect_live(art)
        lock = parse_lock(settings.get("lock"))
        model = onnx.load(str(model_path), load_external_data=False)
        return explain_engine(model, parse_engine_information(art.layers_json),
                              _facts(art.settings, lock)).rows


def _facts(sidecar: dict, lock: dict[str, str]) -> BuildFacts:
    s = sidecar.get("settings", {})
    return BuildFacts(lock=lock, legacy_weak_typing=bool(s.get("legacy_weak_typing")),
                     compute_capability=parse_cc(sidecar.get("target", {}).get("compute_capability")),
                     tf32=bool(s.get("tf32")))


def _check_hardware(model, cc: tuple[int, int] | None, gpu: str) -> None:
    """Strongly typed builds cannot fall back: refuse graph types this GPU lacks, before building."""
    used = {_GRAPH_PRECISIONS.get(t) for t in tensor_types(model).values()}
    used |= {_GRAPH_PRECISIONS.get(init.data_type) for init in model.graph.initializer}
    for precision in sorted(p for p in used if p):
        why = unsupported_reason(precision, cc)
        if why:
            raise UserError(f"the annotated model uses {precision}, but {why} ({gpu}); build this precision on "
                            "a newer GPU or drop it from the matrix for this target", code="HARDWARE_UNSUPPORTED")


def _apply_legacy(trt, model, network, config, s: TrtBuildSettings, report) -> dict:
    has_qdq = any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node)
    intents = intended_precisions(model, s.lock)
    return apply_weak_typing(trt, network, config, intents, s.precision, has_qdq, report).to_json()


def _timing_cache(s: TrtBuildSettings, identity):
    if not s.timing_cache:
        return None, None
    store = TimingCacheStore(cache_dir(s.timing_cache_dir))
    return store, store.load(identity)


def _attach_timing_cache(config, stored: bytes | None, say) -> bytes | None:
    """Gives the config the stored cache (or an empty one); returns what was reused.

    A cache TensorRT cannot read (truncated file, other build) is replaced by
    an empty one rather than failing the build.
    """
    if stored:
        try:
            cache = config.create_timing_cache(stored)
            if cache is not None and config.set_timing_cache(cache, False):
                return stored
        except Exception as exc:  # noqa: BLE001 - any reading problem means "start fresh"
            say(f"timing cache not reusable ({exc}); starting an empty one", "warning")
    config.set_timing_cache(config.create_timing_cache(b""), False)
    return None


def _inspect_live(art: EngineArtifact) -> str:
    """Inspector JSON for an artifact stored without it (needs TensorRT and the GPU)."""
    trt = import_tensorrt()
    runtime, engine = engine_from_bytes(trt, make_logger(trt), art.plan,
                                        bool(art.settings.get("settings", {}).get("version_compatible")))
    shapes = {name: tuple(r["opt"]) for p in art.settings.get("profiles", []) for name, r in p.items()}
    text = inspect_engine(trt, engine, shapes)
    del engine, runtime
    return text


def create() -> Backend:
    """The entry point backends/__init__.get_backend calls."""
    return TensorRTBackend()
