"""trtpipe's runner: a gRPC server that transforms, builds, evaluates and
benchmarks ONNX models on the machine it runs on (see docs/architecture.md)."""

__version__ = "0.1.0"
# The runner protocol this runner speaks: the proto package (trtpipe.runner.v1) and a minor
# revision, bumped when v1 gains something a client may rely on. A client of another major is
# refused (protocol.py); a client refuses a runner of another major or an older minor
# (src/runner-client/protocol.ts). Keep the two in step.
PROTOCOL = "trtpipe.runner.v1.0"
