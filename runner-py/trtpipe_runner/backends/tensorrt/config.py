"""Build settings -> a TensorRT builder config (the `CreateConfig` step).

Everything here takes the tensorrt module as an argument instead of importing
it, so the mapping is the same code in production and in the unit tests,
which pass a small recording test double. Names used, per the 10.16 and 11.1
Python bindings (python/src/infer/pyCore.cpp in NVIDIA/TensorRT):
`config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, bytes)`,
`config.builder_optimization_level`, `config.hardware_compatibility_level`
(`HardwareCompatibilityLevel.NONE/AMPERE_PLUS/SAME_COMPUTE_CAPABILITY`),
`BuilderFlag.VERSION_COMPATIBLE`, `BuilderFlag.TF32`,
`config.profiling_verbosity = ProfilingVerbosity.DETAILED`,
`builder.create_optimization_profile()` + `profile.set_shape(name, min, opt, max)`,
`config.add_optimization_profile(profile)` (the profile's index, or -1 if invalid).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import UnsupportedError, UserError
from .profiles import ProfileEntry
from .settings import TrtBuildSettings
from .version import TrtVersion

_HW_LEVEL = {"none": "NONE", "ampere_plus": "AMPERE_PLUS", "same_compute_capability": "SAME_COMPUTE_CAPABILITY"}


@dataclass
class ConfigReport:
    """What was set on the config, for the engine's sidecar and the run record."""

    flags_set: list[str] = field(default_factory=list)
    flags_cleared: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"flags_set": sorted(self.flags_set), "flags_cleared": sorted(self.flags_cleared),
                "values": dict(sorted(self.values.items()))}


def create_config(trt, builder, settings: TrtBuildSettings, version: TrtVersion,
                  profile: list[ProfileEntry]) -> tuple[object, ConfigReport]:
    """Creates and fills a builder config for a strongly typed (or legacy) build.

    Args:
        trt: the tensorrt module.
        builder: a `trt.Builder`.
        settings: validated build settings.
        version: the installed TensorRT version.
        profile: optimization-profile entries (profiles.derive_profile).

    Returns:
        (config, report of what was set).
    """
    config = builder.create_builder_config()
    report = ConfigReport()
    # DETAILED keeps layer metadata (ONNX node names), tensor formats and
    # tactics in the engine, which explain reads back through the inspector.
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    report.values["profiling_verbosity"] = "DETAILED"
    if settings.workspace_mib is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings.workspace_mib * 1024 * 1024)
        report.values["workspace_bytes"] = settings.workspace_mib * 1024 * 1024
    if settings.optimization_level is not None:
        config.builder_optimization_level = settings.optimization_level
        report.values["builder_optimization_level"] = settings.optimization_level
    _set_hardware_compatibility(trt, config, settings, version, report)
    if settings.version_compatible:
        _set_flag(trt, config, "VERSION_COMPATIBLE", report)
    # TF32 is on by default in a fresh builder config; an fp32 cell is the IEEE
    # FP32 reference, so the flag is cleared unless the policy asked for tf32.
    if settings.tf32:
        _set_flag(trt, config, "TF32", report)
    else:
        config.clear_flag(trt.BuilderFlag.TF32)
        report.flags_cleared.append("TF32")
    if profile:
        p = builder.create_optimization_profile()
        for e in profile:
            p.set_shape(e.name, e.min, e.opt, e.max)
        # TensorRT returns -1 (and logs why) for a profile it rejects; building on
        # would fail later with a message that no longer names the inputs.
        if config.add_optimization_profile(p) < 0:
            shapes = "; ".join(f"{e.name}: min {list(e.min)}, opt {list(e.opt)}, max {list(e.max)} ({e.source})"
                               for e in profile)
            raise UserError(f"TensorRT rejected the optimization profile ({shapes}); every dynamic input needs a "
                            "range with min <= opt <= max that matches the model's fixed axes: check model.inputs "
                            "and max_batch", code="TRT_PROFILE_INVALID", input=profile[0].name)
        report.values["optimization_profiles"] = 1
    return config, report


def _set_hardware_compatibility(trt, config, settings: TrtBuildSettings, version: TrtVersion,
                                report: ConfigReport) -> None:
    if settings.hardware_compatibility == "none":
        return
    member = _HW_LEVEL[settings.hardware_compatibility]
    levels = getattr(trt, "HardwareCompatibilityLevel", None)
    level = getattr(levels, member, None) if levels is not None else None
    if level is None:
        raise UnsupportedError(
            f"hardware_compatibility '{settings.hardware_compatibility}' is not available in TensorRT {version} "
            f"(HardwareCompatibilityLevel.{member} is missing); upgrade TensorRT or remove the setting",
            code="TRT_SETTING_UNAVAILABLE")
    config.hardware_compatibility_level = level
    report.values["hardware_compatibility_level"] = member


def _set_flag(trt, config, name: str, report: ConfigReport) -> None:
    flag = getattr(trt.BuilderFlag, name, None)
    if flag is None:
        raise UnsupportedError(f"this TensorRT has no BuilderFlag.{name}", code="TRT_SETTING_UNAVAILABLE")
    config.set_flag(flag)
    report.flags_set.append(name)
