"""ONNX op handlers for the torch backend, one module per op family; see registry.py."""
from .registry import REGISTRY, NodeView, OpDef, load_all, register

__all__ = ["REGISTRY", "NodeView", "OpDef", "load_all", "register"]
