"""ONNX Runtime backend (CPU everywhere): the embedded default."""
