"""JSON for the wire: no NaN/Infinity literals, which JSON.parse rejects."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass
from typing import Any


def sanitize(obj: Any) -> Any:
    """Non-finite floats become "nan", "inf" or "-inf"; numpy scalars become Python numbers."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return sanitize(asdict(obj))
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return sanitize(obj.item())
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(sanitize(obj), allow_nan=False, separators=(",", ":"))


def restore(obj: Any) -> Any:
    """Inverse of sanitize for numbers: "nan", "inf", "-inf" become floats again."""
    if isinstance(obj, str) and obj in ("nan", "inf", "-inf"):
        return float(obj)
    if isinstance(obj, dict):
        return {k: restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restore(v) for v in obj]
    return obj
