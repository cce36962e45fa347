"""The build steps that touch TensorRT: NetworkFromOnnx, EngineFromNetwork, EngineFromBytes.

Named like Polygraphy's loaders (`<Target>From<Source>`). Failures become
UserErrors that name the ONNX node: the parser reports each error with the
node's index, name and op (`ParserError.node()`, `node_name()`,
`node_operator()`, `desc()`, `code()`; python/src/parsers/pyOnnx.cpp), and a
failed build's log usually names a layer, often a Myelin region
"{ForeignNode[first...last]}" whose first node is reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...cancel import CancelToken
from ...errors import Cancelled, UnsupportedError, UserError
from ...host_code import require_engine_host_code
from .layer_names import leaves, parse_layer_name


def import_tensorrt():
    """Imports tensorrt or says why it cannot be used here."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise UnsupportedError(f"tensorrt: not installed ({exc}); install it on a GPU host with "
                               "`pip install tensorrt` (see docs/tensorrt.md)", code="BACKEND_UNAVAILABLE") from None
    return trt


def make_logger(trt, log=None):
    """A trt.ILogger that forwards warnings to the stage log and keeps errors for messages.

    Args:
        trt: the tensorrt module.
        log: optional callable(message, level) of the stage.

    Returns:
        the logger; its `errors` list holds every error TensorRT reported, and `forward` (the
        stage log) may be replaced: a Builder kept between builds keeps its logger
        (builder_pool.py).
    """

    class StageLogger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.forward = log

        def log(self, severity, msg):
            forward = self.forward
            if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
                self.errors.append(str(msg))
                if forward:
                    forward(f"TensorRT: {msg}", "error")
            elif severity == trt.ILogger.Severity.WARNING and forward:
                forward(f"TensorRT: {msg}", "warning")

    return StageLogger()


# How TensorRT's library loader reports a shared library it cannot open, e.g.
# "Error Code 6: API Usage Error (Unable to load library: libnvinfer_builder_resource_sm90.so.11.2.1: ...)"
# for a missing builder resource, or libnvinfer_lean.so.10 for version-compatible engines.
_MISSING_LIB = re.compile(r"Unable to load library: ([^\s:()]+)|([^\s:()]+\.so[\w.]*): cannot open shared object file")


def missing_library(messages: list[str]) -> str:
    """The TensorRT library the log says could not be loaded ("" if none)."""
    for m in messages:
        found = _MISSING_LIB.search(m)
        if found:
            return found.group(1) or found.group(2)
    return ""


def library_error(library: str, what: str, messages: list[str]) -> UnsupportedError:
    """The error for a TensorRT library that is not installed on this runner."""
    hint = (" (version-compatible engines embed or load the lean runtime; build without version_compatible "
            "or install the TensorRT lean runtime)" if "lean" in library else
            " (the builder resource for this GPU's architecture; install the full TensorRT libraries for this "
            "GPU, not a build that ships only some architectures)" if "builder_resource" in library else "")
    detail = " | ".join(m.strip() for m in messages[-2:])
    return UnsupportedError(f"TensorRT {what}: the TensorRT library {library} is missing on this runner{hint}. "
                            f"TensorRT said: {detail}", code="TRT_LIBRARY_MISSING")


def create_builder(trt, logger):
    """trt.Builder(logger), or a clear error: a missing library named, else no usable GPU.

    The bindings raise TypeError ("factory function returned nullptr") when
    the builder cannot be created; the reason is only in the log.
    """
    return _create(trt.Builder, logger, "could not create a Builder")


def create_runtime(trt, logger):
    """trt.Runtime(logger), with the same failure handling as create_builder."""
    return _create(trt.Runtime, logger, "could not create a Runtime")


def _create(factory, logger, what: str):
    errors = getattr(logger, "errors", [])
    start = len(errors)
    try:
        made, why = factory(logger), ""
    except Exception as exc:  # noqa: BLE001 - pybind raises TypeError when creation fails
        made, why = None, str(exc) or type(exc).__name__
    if made is not None:
        return made
    logged = errors[start:]
    library = missing_library(logged)
    if library:
        raise library_error(library, what, logged)
    said = " | ".join(m.strip() for m in logged[-2:]) or why or "it returned None"
    raise UnsupportedError(f"TensorRT {what}: no usable GPU or CUDA driver ({said})", code="TRT_NO_GPU")


@dataclass
class ParserProblem:
    """One ONNX parser error, as plain data."""

    desc: str
    code: str = ""
    node_index: int = -1
    node_name: str = ""
    op: str = ""


def parser_error(problems: list[ParserProblem], node_names: list[str], version: str) -> UserError:
    """A UserError naming the ONNX node(s) TensorRT's parser rejected.

    Args:
        problems: the parser's errors.
        node_names: node names of the model, by index, to name nodes the parser only numbered.
        version: TensorRT version, for the message.
    """
    parts, first_node = [], ""
    for p in problems[:5]:
        name = p.node_name or (node_names[p.node_index] if 0 <= p.node_index < len(node_names) else "")
        first_node = first_node or name
        where = f"node '{name}'" + (f" ({p.op})" if p.op else "") if name else "the model"
        code = f" [{p.code}]" if p.code else ""
        parts.append(f"{where}: {p.desc.strip()}{code}")
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return UserError(
        f"TensorRT {version} cannot parse the annotated model: {'; '.join(parts)}{more}. Check the op and its "
        "types against TensorRT's ONNX operator support (docs/tensorrt.md); a precision rule can keep a node in "
        "a type TensorRT supports",
        code="TRT_PARSE_FAILED", node=first_node)


def network_from_onnx(trt, builder, logger, model_path: Path, flags: int, node_names: list[str], version: str):
    """Parses the ONNX file into a new network (NetworkFromOnnx).

    Args:
        trt: the tensorrt module.
        builder: a trt.Builder.
        logger: the build's logger.
        model_path: the annotated model (external weights resolve next to it).
        flags: network creation flags (version.network_creation_flags).
        node_names: the model's node names by index, for error messages.
        version: the TensorRT version, for error messages.

    Returns:
        (network, parser); the parser must outlive the network's use.
    """
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    # parse_from_file resolves external weight files relative to the model.
    if not parser.parse_from_file(str(model_path)):
        problems = []
        for i in range(parser.num_errors):
            e = parser.get_error(i)
            problems.append(ParserProblem(
                desc=str(e.desc()), code=str(_call(e, "code")).split(".")[-1],
                node_index=int(_call(e, "node", -1)), node_name=str(_call(e, "node_name", "") or ""),
                op=str(_call(e, "node_operator", "") or "")))
        raise parser_error(problems or [ParserProblem("the parser failed without saying why")], node_names, version)
    return network, parser


def _call(obj, method: str, default=""):
    fn = getattr(obj, method, None)
    try:
        return fn() if callable(fn) else default
    except Exception:  # noqa: BLE001 - optional accessors differ between versions
        return default


def make_progress_monitor(trt, cancel: CancelToken, progress=None):
    """An IProgressMonitor that reports build phases and stops the build on cancel.

    Returning False from `step_complete` makes TensorRT abandon the build
    (IProgressMonitor, TensorRT >= 9.0).

    Args:
        trt: the tensorrt module.
        cancel: the stage's cancellation token.
        progress: optional callable(phase name) for top-level phases.
    """

    class CancellableMonitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.cancelled = False

        def phase_start(self, phase_name, parent_phase, num_steps):
            if progress and parent_phase is None:
                progress(str(phase_name))

        def step_complete(self, phase_name, step):
            self.cancelled = cancel.cancelled
            return not self.cancelled

        def phase_finish(self, phase_name):
            pass

    return CancellableMonitor()


def engine_from_network(trt, builder, network, config, logger, cancel: CancelToken, progress=None,
                        version_compatible: bool = False):
    """Builds and serializes the engine (EngineFromNetwork).

    Args:
        trt: the tensorrt module.
        builder, network, config: from NetworkFromOnnx and config.create_config.
        logger: the build's logger (its errors go into the failure message).
        cancel: cancellation, checked between build steps.
        progress: optional callable(phase name).
        version_compatible: the config builds a version-compatible engine, which TensorRT only
            builds serialized ("Directly built ICudaEngine is not version compatible").

    Returns:
        (the serialized plan, the built ICudaEngine): the engine comes from
        build_engine_with_config, so its inspector needs no deserialization of the plan (about a
        second for a ResNet-50 engine); None where this TensorRT lacks that call, and for a
        version-compatible build. Raises UserError
        (TRT_BUILD_FAILED) naming the node the log mentions, or UnsupportedError
        (TRT_LIBRARY_MISSING) naming a library TensorRT could not load.
    """
    # Only errors logged by this build explain its failure: an incompatible
    # timing cache, say, is logged as an ERROR earlier and handled there.
    errors = getattr(logger, "errors", [])
    start = len(errors)
    monitor = None
    if hasattr(trt, "IProgressMonitor"):
        monitor = make_progress_monitor(trt, cancel, progress)
        config.progress_monitor = monitor
    engine = None
    if hasattr(builder, "build_engine_with_config") and not version_compatible:
        engine = builder.build_engine_with_config(network, config)
        plan = engine.serialize() if engine is not None else None
    else:
        plan = builder.build_serialized_network(network, config)
    if monitor is not None and monitor.cancelled:
        raise Cancelled("the build was cancelled by the client")
    if plan is None:
        logged = errors[start:]
        library = missing_library(logged)
        raise library_error(library, "could not build the engine", logged) if library else build_error(logged)
    return bytes(memoryview(plan)), engine


_REGION_IN_LOG = re.compile(r"\{ForeignNode\[.*?\]\}")
_NODE_IN_LOG = re.compile(r"\bnode '?([^\s'{]+?)'?[.:,)]*(?:\s|$)")


def build_error(messages: list[str]) -> UserError:
    """A UserError from the builder's error log, naming the first ONNX node it mentions.

    A Myelin region names its first and last (possibly fused) nodes, a fused
    layer several: the node reported is the first one, never the whole string.
    """
    text = " | ".join(m.strip() for m in messages[-4:]) or "the builder returned no engine and logged no error"
    node = ""
    for m in messages:
        region, plain = _REGION_IN_LOG.search(m), _NODE_IN_LOG.search(m)
        named = parse_layer_name(region.group(0)).first if region else leaves(plain.group(1)) if plain else []
        if named:
            node = named[0]
            break
    hint = ("; no kernel for a layer often means an op/type TensorRT cannot run here: keep it in another "
            "precision with a rule, or raise workspace_mib") if "implementation" in text else ""
    return UserError(f"TensorRT could not build the engine: {text}{hint}", code="TRT_BUILD_FAILED", node=node)


def engine_from_bytes(trt, logger, plan: bytes, host_code_allowed: bool = False):
    """Deserializes a plan (EngineFromBytes).

    Args:
        trt: the tensorrt module.
        logger: a TensorRT logger.
        plan: the serialized engine.
        host_code_allowed: allow embedded host code (version-compatible engines).

    Returns:
        (runtime, engine); the runtime must outlive the engine.
    """
    if host_code_allowed:
        # Version-compatible plans embed the lean runtime (host code): loading one runs code
        # from the plan, which any token holder can send (host_code.py).
        require_engine_host_code("loading a version-compatible engine")
    runtime = create_runtime(trt, logger)
    if host_code_allowed:
        runtime.engine_host_code_allowed = True
    errors_before = len(getattr(logger, "errors", []))
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        logged = getattr(logger, "errors", [])[errors_before:]
        library = missing_library(logged)
        if library:
            raise library_error(library, "could not load the engine", logged)
        errors = " | ".join(logged[-3:])
        raise UserError(f"TensorRT could not load the engine ({errors or 'no detail'}); engines only load on the "
                        "TensorRT version and GPU they were built for unless built version/hardware compatible",
                        code="TRT_DESERIALIZE_FAILED")
    return runtime, engine


def inspect_engine(trt, engine, shapes: dict[str, tuple[int, ...]]) -> str:
    """The engine inspector's JSON, with an execution context so dynamic shapes are concrete.

    Args:
        trt: the tensorrt module.
        engine: a deserialized ICudaEngine built with DETAILED profiling verbosity.
        shapes: concrete shapes for the dynamic inputs (the profile's opt shapes).
    """
    # Shapes are all the inspector needs: a context that allocates no activation memory (hundreds of
    # MiB at batch 64) is enough, where this TensorRT can make one.
    strategy = getattr(trt, "ExecutionContextAllocationStrategy", None)
    context = engine.create_execution_context(strategy.USER_MANAGED) if strategy is not None \
        else engine.create_execution_context()
    for name, shape in shapes.items():
        context.set_input_shape(name, tuple(shape))
    inspector = engine.create_engine_inspector()
    inspector.execution_context = context
    text = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    del inspector, context
    return str(text)
