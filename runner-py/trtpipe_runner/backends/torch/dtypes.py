"""ONNX element types <-> torch dtypes, and ONNX tensors -> torch tensors.

numpy has no bfloat16 or float8; onnx hands those out as ml_dtypes arrays,
which torch.from_numpy rejects, so they travel as raw bits of the same width
and are reinterpreted (`view`) on the torch side.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ...errors import UserError

# The ONNX element types with a torch dtype (the rest: strings, complex, 2/4/6-bit, float8 e8m0).
TORCH_TYPES = frozenset({
    TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE, TensorProto.INT8,
    TensorProto.UINT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64, TensorProto.BOOL, TensorProto.UINT16,
    TensorProto.UINT32, TensorProto.UINT64, TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2FNUZ,
})


def torch_dtype(elem_type: int):
    """The torch dtype for an ONNX element type; UserError for types torch cannot hold."""
    import torch

    table = {
        TensorProto.FLOAT: torch.float32, TensorProto.FLOAT16: torch.float16, TensorProto.BFLOAT16: torch.bfloat16,
        TensorProto.DOUBLE: torch.float64, TensorProto.INT8: torch.int8, TensorProto.UINT8: torch.uint8,
        TensorProto.INT16: torch.int16, TensorProto.INT32: torch.int32, TensorProto.INT64: torch.int64,
        TensorProto.BOOL: torch.bool, TensorProto.UINT16: torch.uint16, TensorProto.UINT32: torch.uint32,
        TensorProto.UINT64: torch.uint64,
        TensorProto.FLOAT8E4M3FN: torch.float8_e4m3fn, TensorProto.FLOAT8E5M2: torch.float8_e5m2,
        TensorProto.FLOAT8E4M3FNUZ: torch.float8_e4m3fnuz, TensorProto.FLOAT8E5M2FNUZ: torch.float8_e5m2fnuz,
    }
    if elem_type not in table:
        name = TensorProto.DataType.Name(elem_type) if elem_type in TensorProto.DataType.values() else elem_type
        raise UserError(f"the torch backend cannot hold tensors of ONNX type {name}", code="UNSUPPORTED_TYPE")
    return table[elem_type]


_BITS = {2: np.uint16, 1: np.uint8}


def from_numpy(arr: np.ndarray):
    """A CPU torch tensor with the same values and dtype (bfloat16/float8 included)."""
    import torch

    kind = str(arr.dtype)
    special = {"bfloat16": torch.bfloat16, "float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2,
               "float8_e4m3fnuz": torch.float8_e4m3fnuz, "float8_e5m2fnuz": torch.float8_e5m2fnuz}
    arr = np.array(arr, order="C", copy=True)  # not ascontiguousarray: it turns 0-d arrays into 1-d
    if kind in special:
        return torch.from_numpy(arr.view(_BITS[arr.dtype.itemsize])).view(special[kind])
    return torch.from_numpy(arr)


def to_numpy(t) -> np.ndarray:
    """A host numpy array of a torch tensor; bfloat16/float8 come back as ml_dtypes arrays."""
    import ml_dtypes
    import torch

    t = t.detach().cpu()
    special = {torch.bfloat16: (torch.int16, ml_dtypes.bfloat16),
               torch.float8_e4m3fn: (torch.uint8, ml_dtypes.float8_e4m3fn),
               torch.float8_e5m2: (torch.uint8, ml_dtypes.float8_e5m2),
               torch.float8_e4m3fnuz: (torch.uint8, ml_dtypes.float8_e4m3fnuz),
               torch.float8_e5m2fnuz: (torch.uint8, ml_dtypes.float8_e5m2fnuz)}
    if t.dtype in special:
        bits, np_type = special[t.dtype]
        return t.contiguous().view(bits).numpy().view(np_type)
    return t.numpy()


def tensor_from_onnx(proto):
    """A CPU torch tensor of an ONNX TensorProto (initializer or Constant value)."""
    from onnx import numpy_helper

    return from_numpy(numpy_helper.to_array(proto))
