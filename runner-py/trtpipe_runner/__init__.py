"""trtpipe's runner: a gRPC server that transforms, builds, evaluates and
benchmarks ONNX models on the machine it runs on (see docs/architecture.md)."""

__version__ = "0.1.0"
PROTOCOL = "trtpipe.runner.v1"
