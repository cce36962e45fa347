"""Which TensorRT is installed, and what its major version allows.

The two supported majors differ in one way that matters to trtpipe:
- 10.x builds weakly typed networks unless the network is created with the
  STRONGLY_TYPED flag; its precision builder flags (FP16, INT8, ...) and
  per-layer precisions still exist (deprecated since 10.12).
- 11.x networks are always strongly typed; the flag still exists but is
  ignored, and the precision flags, calibrators and per-layer precision APIs
  are gone (reference: docs/tensorrt.md; NVIDIA's 11.0 release notes and the
  10.x -> 11.x Python migration guide).
Code elsewhere asks this module instead of probing `hasattr(trt.BuilderFlag,
"FP16")`: that guard is exactly what silently built FP32 engines on 11.x.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import UnsupportedError, UserError

SUPPORTED_MAJORS = (10, 11)


@dataclass(frozen=True)
class TrtVersion:
    """A parsed TensorRT version ("10.13.0.35" -> 10, 13, 0)."""

    major: int
    minor: int
    patch: int
    text: str

    @property
    def always_strongly_typed(self) -> bool:
        """11.x and later: every network is strongly typed, no flag needed."""
        return self.major >= 11

    @property
    def has_weak_typing(self) -> bool:
        """Only 10.x still has the weak-typing APIs (precision flags, layer precisions)."""
        return self.major == 10

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> TrtVersion:
    """Parses `tensorrt.__version__`.

    Args:
        text: e.g. "10.13.0.35", "11.1.0", "11.2.0.post1".

    Returns:
        The TrtVersion; missing minor/patch parts count as 0.
    """
    m = re.match(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", text or "")
    if not m:
        raise UnsupportedError(f"cannot read the TensorRT version '{text}'", code="TRT_VERSION_UNKNOWN")
    major, minor, patch = (int(g) if g else 0 for g in m.groups())
    return TrtVersion(major, minor, patch, text.strip())


def check_supported(version: TrtVersion) -> None:
    """Refuses TensorRT majors trtpipe was not written for.

    Before 10.0 the Python API was binding-index based and had no usable
    strongly typed path; a major after 11 may have changed again, so it is
    refused rather than guessed at.
    """
    if version.major not in SUPPORTED_MAJORS:
        raise UnsupportedError(
            f"TensorRT {version} is not supported by this runner (supported: 10.x and 11.x); "
            "install a supported version, e.g. `pip install 'tensorrt>=10.12,<12'`",
            code="TRT_VERSION_UNSUPPORTED",
        )


def network_creation_flags(trt, version: TrtVersion, weak_typing: bool = False) -> int:
    """The flags for `builder.create_network(flags)`.

    Args:
        trt: the tensorrt module (or a test double with the same names).
        version: the installed version.
        weak_typing: legacy mode (10.x only): build without STRONGLY_TYPED.

    Returns:
        11.x: 0 (strongly typed by default; STRONGLY_TYPED is deprecated and
        ignored there). 10.x: 1 << STRONGLY_TYPED, or 0 in legacy mode.
    """
    if version.always_strongly_typed:
        if weak_typing:
            raise legacy_refusal(version)
        return 0
    if weak_typing:
        return 0
    return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


def legacy_refusal(version: TrtVersion) -> UserError:
    """The error for `legacy_weak_typing: true` on a TensorRT without weak typing."""
    return UserError(
        f"legacy_weak_typing is not available with TensorRT {version}: TensorRT 11 removed weak typing "
        "(the FP16/BF16/INT8 builder flags, per-layer precisions, OBEY_PRECISION_CONSTRAINTS and the INT8 "
        "calibrators), so the builder can no longer pick precisions per layer. Remove `legacy_weak_typing` "
        "from the target's build settings: trtpipe's annotated model is already strongly typed (Cast nodes "
        "and low-precision initializers for fp16/bf16, Q/DQ nodes for int8/fp8), and TensorRT 11 builds it "
        "with exactly the precisions your policy resolved. To keep using weak typing, pin the target to "
        "TensorRT 10.x (`require: { tensorrt: \"<11\" }`).",
        code="LEGACY_MODE_UNAVAILABLE",
    )
