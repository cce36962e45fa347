"""Precision policy -> per-node decisions -> precision-annotated ONNX graph."""
