from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_LEVEL_UNSPECIFIED: _ClassVar[LogLevel]
    LOG_LEVEL_DEBUG: _ClassVar[LogLevel]
    LOG_LEVEL_INFO: _ClassVar[LogLevel]
    LOG_LEVEL_WARNING: _ClassVar[LogLevel]
    LOG_LEVEL_ERROR: _ClassVar[LogLevel]

class LeaseMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEASE_MODE_UNSPECIFIED: _ClassVar[LeaseMode]
    LEASE_MODE_SHARED: _ClassVar[LeaseMode]
    LEASE_MODE_EXCLUSIVE: _ClassVar[LeaseMode]

class ErrorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_KIND_UNSPECIFIED: _ClassVar[ErrorKind]
    ERROR_KIND_USER: _ClassVar[ErrorKind]
    ERROR_KIND_INTERNAL: _ClassVar[ErrorKind]
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_DEBUG: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_WARNING: LogLevel
LOG_LEVEL_ERROR: LogLevel
LEASE_MODE_UNSPECIFIED: LeaseMode
LEASE_MODE_SHARED: LeaseMode
LEASE_MODE_EXCLUSIVE: LeaseMode
ERROR_KIND_UNSPECIFIED: ErrorKind
ERROR_KIND_USER: ErrorKind
ERROR_KIND_INTERNAL: ErrorKind

class ArtifactRef(_message.Message):
    __slots__ = ("sha256", "size", "media_type")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    media_type: str
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., media_type: _Optional[str] = ...) -> None: ...

class ArtifactParts(_message.Message):
    __slots__ = ("parts",)
    PARTS_FIELD_NUMBER: _ClassVar[int]
    parts: _containers.RepeatedCompositeFieldContainer[ArtifactRef]
    def __init__(self, parts: _Optional[_Iterable[_Union[ArtifactRef, _Mapping]]] = ...) -> None: ...

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Backend(_message.Message):
    __slots__ = ("name", "available", "version", "unavailable_reason", "precisions", "wider_precisions", "emulated_precisions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    PRECISIONS_FIELD_NUMBER: _ClassVar[int]
    WIDER_PRECISIONS_FIELD_NUMBER: _ClassVar[int]
    EMULATED_PRECISIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    available: bool
    version: str
    unavailable_reason: str
    precisions: _containers.RepeatedScalarFieldContainer[str]
    wider_precisions: _containers.RepeatedScalarFieldContainer[str]
    emulated_precisions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., available: bool = ..., version: _Optional[str] = ..., unavailable_reason: _Optional[str] = ..., precisions: _Optional[_Iterable[str]] = ..., wider_precisions: _Optional[_Iterable[str]] = ..., emulated_precisions: _Optional[_Iterable[str]] = ...) -> None: ...

class Gpu(_message.Message):
    __slots__ = ("index", "name", "compute_capability", "memory_bytes", "driver_version", "cuda_version")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DRIVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CUDA_VERSION_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    compute_capability: str
    memory_bytes: int
    driver_version: str
    cuda_version: str
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., compute_capability: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., driver_version: _Optional[str] = ..., cuda_version: _Optional[str] = ...) -> None: ...

class GetCapabilitiesResponse(_message.Message):
    __slots__ = ("runner_version", "protocol", "backends", "gpus", "versions", "hostname", "cpu_count", "free_disk_bytes", "memory_bytes")
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUNNER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    CPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    FREE_DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    runner_version: str
    protocol: str
    backends: _containers.RepeatedCompositeFieldContainer[Backend]
    gpus: _containers.RepeatedCompositeFieldContainer[Gpu]
    versions: _containers.ScalarMap[str, str]
    hostname: str
    cpu_count: int
    free_disk_bytes: int
    memory_bytes: int
    def __init__(self, runner_version: _Optional[str] = ..., protocol: _Optional[str] = ..., backends: _Optional[_Iterable[_Union[Backend, _Mapping]]] = ..., gpus: _Optional[_Iterable[_Union[Gpu, _Mapping]]] = ..., versions: _Optional[_Mapping[str, str]] = ..., hostname: _Optional[str] = ..., cpu_count: _Optional[int] = ..., free_disk_bytes: _Optional[int] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class PutArtifactRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactRef
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactRef, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class PutArtifactResponse(_message.Message):
    __slots__ = ("artifact", "already_present")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_PRESENT_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactRef
    already_present: bool
    def __init__(self, artifact: _Optional[_Union[ArtifactRef, _Mapping]] = ..., already_present: bool = ...) -> None: ...

class HasArtifactsRequest(_message.Message):
    __slots__ = ("sha256",)
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sha256: _Optional[_Iterable[str]] = ...) -> None: ...

class HasArtifactsResponse(_message.Message):
    __slots__ = ("present",)
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    present: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, present: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportArtifactRequest(_message.Message):
    __slots__ = ("artifact", "path")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactRef
    path: str
    def __init__(self, artifact: _Optional[_Union[ArtifactRef, _Mapping]] = ..., path: _Optional[str] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("sha256",)
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    def __init__(self, sha256: _Optional[str] = ...) -> None: ...

class GetArtifactResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactRef
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactRef, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class RunStageRequest(_message.Message):
    __slots__ = ("stage", "cell", "inputs", "params_json")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ArtifactRef
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ArtifactRef, _Mapping]] = ...) -> None: ...
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    stage: str
    cell: str
    inputs: _containers.MessageMap[str, ArtifactRef]
    params_json: str
    def __init__(self, stage: _Optional[str] = ..., cell: _Optional[str] = ..., inputs: _Optional[_Mapping[str, ArtifactRef]] = ..., params_json: _Optional[str] = ...) -> None: ...

class RunStageResponse(_message.Message):
    __slots__ = ("progress", "log", "result", "heartbeat", "lease")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    progress: Progress
    log: LogLine
    result: StageResult
    heartbeat: Heartbeat
    lease: DeviceLease
    def __init__(self, progress: _Optional[_Union[Progress, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ..., result: _Optional[_Union[StageResult, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., lease: _Optional[_Union[DeviceLease, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("elapsed_seconds",)
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    elapsed_seconds: float
    def __init__(self, elapsed_seconds: _Optional[float] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("fraction", "message")
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    fraction: float
    message: str
    def __init__(self, fraction: _Optional[float] = ..., message: _Optional[str] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("level", "message")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    level: LogLevel
    message: str
    def __init__(self, level: _Optional[_Union[LogLevel, str]] = ..., message: _Optional[str] = ...) -> None: ...

class Diagnostic(_message.Message):
    __slots__ = ("level", "code", "message", "node")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    level: LogLevel
    code: str
    message: str
    node: str
    def __init__(self, level: _Optional[_Union[LogLevel, str]] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., node: _Optional[str] = ...) -> None: ...

class StageResult(_message.Message):
    __slots__ = ("outputs", "metrics", "details_json", "diagnostics", "seconds", "output_parts", "leases")
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ArtifactRef
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ArtifactRef, _Mapping]] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class OutputPartsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ArtifactParts
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ArtifactParts, _Mapping]] = ...) -> None: ...
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PARTS_FIELD_NUMBER: _ClassVar[int]
    LEASES_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.MessageMap[str, ArtifactRef]
    metrics: _containers.ScalarMap[str, float]
    details_json: str
    diagnostics: _containers.RepeatedCompositeFieldContainer[Diagnostic]
    seconds: float
    output_parts: _containers.MessageMap[str, ArtifactParts]
    leases: _containers.RepeatedCompositeFieldContainer[DeviceLease]
    def __init__(self, outputs: _Optional[_Mapping[str, ArtifactRef]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., details_json: _Optional[str] = ..., diagnostics: _Optional[_Iterable[_Union[Diagnostic, _Mapping]]] = ..., seconds: _Optional[float] = ..., output_parts: _Optional[_Mapping[str, ArtifactParts]] = ..., leases: _Optional[_Iterable[_Union[DeviceLease, _Mapping]]] = ...) -> None: ...

class DeviceLease(_message.Message):
    __slots__ = ("device", "mode", "holder", "requested_at", "acquired_at", "released_at", "enforced", "waited_for")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ACQUIRED_AT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_FIELD_NUMBER: _ClassVar[int]
    ENFORCED_FIELD_NUMBER: _ClassVar[int]
    WAITED_FOR_FIELD_NUMBER: _ClassVar[int]
    device: str
    mode: LeaseMode
    holder: str
    requested_at: float
    acquired_at: float
    released_at: float
    enforced: bool
    waited_for: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, device: _Optional[str] = ..., mode: _Optional[_Union[LeaseMode, str]] = ..., holder: _Optional[str] = ..., requested_at: _Optional[float] = ..., acquired_at: _Optional[float] = ..., released_at: _Optional[float] = ..., enforced: bool = ..., waited_for: _Optional[_Iterable[str]] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("kind", "code", "message", "node", "input", "traceback")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    kind: ErrorKind
    code: str
    message: str
    node: str
    input: str
    traceback: str
    def __init__(self, kind: _Optional[_Union[ErrorKind, str]] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., node: _Optional[str] = ..., input: _Optional[str] = ..., traceback: _Optional[str] = ...) -> None: ...
