"""ONNX external data: which files a model's tensors live in, and writing models that keep them.

A model saved with external data (every model over 2 GB: protobuf cannot hold
more) is a small .onnx file whose large tensors name a `location` relative to
the file's folder. trtpipe accepts only locations inside that folder: relative,
without `..`, so a model can never make a runner read (or the orchestrator
upload) anything else.
"""
from __future__ import annotations

import posixpath
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import UserError

# Tensors of at least this many bytes go to the data file when trtpipe writes a
# model with external data (small ones stay inline, as onnx's own default).
SIZE_THRESHOLD = 1024


def _graph_tensors(graph) -> Iterator:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node) -> Iterator:
    for attr in node.attribute:
        if attr.HasField("t"):
            yield attr.t
        yield from attr.tensors
        if attr.HasField("sparse_tensor"):
            yield attr.sparse_tensor.values
            yield attr.sparse_tensor.indices
        for sparse in attr.sparse_tensors:
            yield sparse.values
            yield sparse.indices
        if attr.HasField("g"):
            yield from _graph_tensors(attr.g)
        for g in attr.graphs:
            yield from _graph_tensors(g)


def all_tensors(model) -> Iterator:
    """Every TensorProto of a model: initializers, attributes, subgraphs and functions."""
    yield from _graph_tensors(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _node_tensors(node)


def external_locations(model) -> dict[str, list[str]]:
    """{location: [tensor names]} of the tensors stored outside the .onnx file, checked.

    Raises:
        UserError: MODEL_EXTERNAL_DATA_PATH for a location that is empty, absolute,
            or contains `..` or a backslash (the folder rule in the module docstring).
    """
    import onnx

    found: dict[str, list[str]] = {}
    for tensor in all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        why = location_problem(location)
        if why:
            raise UserError(f"tensor '{tensor.name}' stores its data at {location!r}, which {why}; external data "
                            "must be a file in the model's folder or below it", code="MODEL_EXTERNAL_DATA_PATH")
        found.setdefault(posixpath.normpath(location), []).append(tensor.name)
    return found


def location_problem(location: str) -> str:
    """Why a relative file name could reach outside its folder ("" when it cannot)."""
    if not location:
        return "is empty"
    if location.startswith("/") or (len(location) > 1 and location[1] == ":"):
        return "is absolute"
    if "\\" in location:
        return "contains a backslash"
    if ".." in location.split("/"):
        return "leaves the model's folder (..)"
    return ""


def has_external_data(model) -> bool:
    return bool(external_locations(model))


@contextmanager
def beside(model, model_path: Path, name: str) -> Iterator[Path | bytes]:
    """What to hand a tool that reads by path for `model` (loaded from `model_path`
    without its external data, perhaps changed): its bytes when it has no external
    data, else the model written next to `model_path` under a fresh name, so that
    its data files resolve, and removed afterwards.

    Next to, not elsewhere with links to the data: onnx refuses data files that
    have more than one hard link or are symlinks, and the folder is shared by
    every stage that reads this model.
    """
    if not has_external_data(model):
        yield model.SerializeToString()
        return
    path = Path(model_path).parent / f".{name}-{uuid.uuid4().hex[:12]}.onnx"
    path.write_bytes(model.SerializeToString())
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def save_with_external_data(model, dest: Path) -> Path:
    """Saves a model whose tensors are in memory as `dest` plus one data file, `<name>.data`.

    onnx moves the tensors out of `model` while it writes them: afterwards the
    in-memory model names the data file instead of holding the data.
    """
    import onnx

    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(dest), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=f"{dest.name}.data", size_threshold=SIZE_THRESHOLD)
    return dest
