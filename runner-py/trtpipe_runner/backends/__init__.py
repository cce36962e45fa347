"""Backends: what builds and runs an annotated ONNX model on some hardware.

Each backend lives in its own folder and is imported lazily, so a runner
without TensorRT or PyTorch still starts and reports why that backend is
missing (see capabilities.py).
"""
