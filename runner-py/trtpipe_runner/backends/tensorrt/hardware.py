"""Which precisions a GPU's compute capability runs fast, for probing and explain.

TensorRT 11 removed `platform_has_fast_fp16` and friends; the replacement is
to ask CUDA for the compute capability and decide from it. The thresholds per
precision are the shared vocabulary's (contract/vocabulary.json; sources in
docs/tensorrt.md, "Hardware"): TF32 and BF16 SM 8.0+, FP8 SM 8.9+, INT8 SM 6.1+
(dp4a), FP16 SM 6.0+ but slow on SM 6.1 (consumer Pascal). TensorRT itself:
11.x needs SM 7.5+; 10.x supports SM 7.5+ (early 10.x releases also SM 7.0).
"""
from __future__ import annotations

from ...contract.vocabulary import PRECISION_INFO, PRECISIONS

# From the shared vocabulary (contract/vocabulary.json): the oldest compute capability per
# precision, and the ones that run a precision slower than fp32.
MIN_CC = {p: info.min_compute_capability or (0, 0) for p, info in PRECISION_INFO.items()}
SLOW = {(p, cc): why for p, info in PRECISION_INFO.items() for cc, why in info.slow_compute_capabilities.items()}


def parse_cc(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """Parses "8.9" / "89" / (8, 9) into (8, 9); None when unknown."""
    if text is None or text == "":
        return None
    if isinstance(text, tuple):
        return (int(text[0]), int(text[1]))
    s = str(text).strip()
    if "." in s:
        major, minor = s.split(".", 1)
        return (int(major), int(minor))
    if s.isdigit() and len(s) >= 2:
        return (int(s[:-1]), int(s[-1]))
    return None


def unsupported_reason(precision: str, cc: tuple[int, int] | None) -> str:
    """Why `precision` does not run fast on compute capability `cc`; "" if it does or cc is unknown.

    Args:
        precision: one of precision.types.PRECISIONS.
        cc: (major, minor) or None.
    """
    if cc is None or precision not in MIN_CC:
        return ""
    need = MIN_CC[precision]
    if cc < need:
        return f"{precision} needs compute capability {need[0]}.{need[1]} or newer; this GPU is {cc[0]}.{cc[1]}"
    slow = SLOW.get((precision, cc))
    return slow or ""


def fast_precisions(cc: tuple[int, int] | None) -> list[str]:
    """The precisions to advertise for a GPU (all of them when cc is unknown)."""
    return [p for p in PRECISIONS if not unsupported_reason(p, cc)]


# The oldest GPUs TensorRT 10.12+ and 11.x run on (Turing); older 10.x also ran on SM 7.0.
MIN_TRT_CC = (7, 5)
