"""How well explain reads a real engine dump: layers matched, ONNX nodes mapped, precisions.

For checking trtpipe against your own TensorRT engines (docs/tensorrt.md,
"Checking explain against your own engine"):

    trtexec --onnx=model.onnx --profilingVerbosity=detailed --exportLayerInfo=layers.json --skipInference
    python -m trtpipe_runner.backends.tensorrt.dump_report layers.json model.onnx

prints one JSON object: engine layers by how they were matched (or why they
belong to no node), the ONNX nodes mapped to a layer, the float-computing
nodes (neither constants nor computed from constants only) that no layer
names, by op type, and the precisions explain reports. Exit code 0 when every layer is matched or explained, 1 otherwise, 2 on
bad input. Files may be gzip-compressed (".gz").
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import onnx

from ...errors import UserError
from .explain import CONSTANT_OPS, BuildFacts, explain_engine
from .fused_casts import GraphFacts
from .hardware import parse_cc
from .inspector import parse_engine_information
from .intent import intended_precisions, is_internal
from .layer_map import map_layers


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when its name ends in .gz."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def coverage(model, layers_json: str | dict, facts: BuildFacts | None = None) -> dict:
    """The mapping and explain figures of one engine dump against its ONNX graph.

    Args:
        model: the onnx.ModelProto the engine was built from (weights may be stripped).
        layers_json: the inspector JSON (text or decoded).
        facts: what the build knew (lock, compute capability, TF32); defaults to none.

    Returns:
        a JSON-ready dict (see the module docstring).
    """
    info = parse_engine_information(layers_json)
    lmap = map_layers(info.layers, model)
    facts = facts or BuildFacts()
    result = explain_engine(model, info, facts)
    intent = intended_precisions(model, facts.lock)
    folded = GraphFacts.of(model).folded
    user = [n for n in model.graph.node if not is_internal(n.name)]
    computing = [n for n in user if intent.get(n.name, "-") != "-" and n.op_type not in CONSTANT_OPS
                 and n.name not in folded]
    unnamed = [n for n in computing if n.name not in lmap.by_node]
    return {
        "inspector_form": info.form,
        "layers": len(info.layers),
        "layers_by_match": dict(sorted(Counter(ln.how for ln in lmap.by_layer).items())),
        "layers_unmapped": [info.layers[i].name for i in lmap.unmapped()],
        "onnx_nodes": len(user),
        "onnx_nodes_mapped": sum(1 for n in user if n.name in lmap.by_node),
        "float_nodes": len(computing),
        "float_nodes_mapped": len(computing) - len(unnamed),
        "float_nodes_unmapped_by_op": dict(sorted(Counter(n.op_type for n in unnamed).items())),
        "realized_counts": result.summary["realized_counts"],
        "reason_counts": result.summary["reason_counts"],
    }


def facts_from(settings: dict | None, lock_rows: list | None) -> BuildFacts:
    """BuildFacts from an engine's settings.json sidecar and lockfile rows (both optional)."""
    s = (settings or {}).get("settings", {})
    return BuildFacts(lock={str(r["node"]): str(r["resolved"]) for r in lock_rows or []},
                      legacy_weak_typing=bool(s.get("legacy_weak_typing")),
                      compute_capability=parse_cc((settings or {}).get("target", {}).get("compute_capability")),
                      tf32=bool(s.get("tf32")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trtpipe_runner.backends.tensorrt.dump_report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("layers", type=Path, help="inspector JSON (trtexec --exportLayerInfo), optionally .gz")
    parser.add_argument("model", type=Path, help="the ONNX model the engine was built from, optionally .gz")
    parser.add_argument("--lock", type=Path, help="trtpipe lockfile rows (JSON list of {node, resolved})")
    parser.add_argument("--settings", type=Path, help="the engine artifact's settings.json")
    args = parser.parse_args(argv)
    try:
        model = onnx.load_from_string(read_bytes(args.model))
        layers = read_bytes(args.layers).decode()
        lock = json.loads(read_bytes(args.lock)) if args.lock else None
        settings = json.loads(read_bytes(args.settings)) if args.settings else None
        report = coverage(model, layers, facts_from(settings, lock))
    except (OSError, ValueError, UserError, onnx.onnx_cpp2py_export.checker.ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0 if not report["layers_unmapped"] else 1


if __name__ == "__main__":
    sys.exit(main())
