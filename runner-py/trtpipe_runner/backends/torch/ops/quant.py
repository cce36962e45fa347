"""QuantizeLinear / DequantizeLinear, executed as quantize-dequantize.

QuantizeLinear really rounds (half to even) and saturates into int8/uint8/int16
or float8 storage, per tensor or per axis, so the values downstream are
exactly the ones a quantized engine sees; DequantizeLinear scales them back to
the float type the graph gives its output. The math between a DQ and the next
Q then runs in that float type: the rounding error of quantization is
faithful, the accumulation is not int32. MatMul/Gemm whose Q/DQ pattern fits
the real int8/fp8 kernels are fused away from these nodes (fusion_qgemm.py).
"""
from __future__ import annotations

from .elementwise import FP8_MAX
from .registry import NodeView, register

_INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535)}


def _broadcast(param, x, axis: int):
    """A per-axis scale/zero point shaped to broadcast along `axis` of x."""
    if param.dim() == 0 or param.numel() == 1 and x.dim() == 0:
        return param.reshape(())
    if param.dim() == 1:
        a = axis + x.dim() if axis < 0 else axis
        shape = [1] * x.dim()
        shape[a] = param.numel()
        return param.reshape(shape)
    return param  # already the input's rank (blocked quantization is refused at compile time)


def _check_blocked(nv: NodeView) -> None:
    if nv.attr("block_size", 0):
        raise nv.fail("blocked quantization (block_size)")


@register("QuantizeLinear")
def quantize_linear(nv: NodeView):
    import torch

    _check_blocked(nv)
    axis = nv.attr("axis", 1)
    saturate = bool(nv.attr("saturate", 1))
    out = nv.out_dtype(0)
    if out is None:
        zp = nv.const(2)
        out = zp.dtype if zp is not None else torch.uint8
    name = str(out).replace("torch.", "")
    if name in _INT_RANGE:
        lo, hi = _INT_RANGE[name]

        def q_int(x, scale, zero_point=None):
            y = torch.round(x.float() / _broadcast(scale, x, axis).float())
            if zero_point is not None:
                y = y + _broadcast(zero_point, x, axis).float()
            return torch.clamp(y, lo, hi).to(out)
        return q_int
    if name in FP8_MAX:
        limit = FP8_MAX[name]

        def q_fp8(x, scale, zero_point=None):
            y = x.float() / _broadcast(scale, x, axis).float()
            if saturate:
                y = torch.clamp(y, -limit, limit)
            return y.to(out)
        return q_fp8
    raise nv.fail(f"quantizing to {name}")


@register("DequantizeLinear")
def dequantize_linear(nv: NodeView):
    _check_blocked(nv)
    axis = nv.attr("axis", 1)
    out = nv.out_dtype(0)

    def dq(x, scale, zero_point=None):
        s = _broadcast(scale, x, axis)
        y = x.float()
        if zero_point is not None:
            y = y - _broadcast(zero_point, x, axis).float()
        y = y * s.float()
        return y.to(out if out is not None else scale.dtype)
    return dq
