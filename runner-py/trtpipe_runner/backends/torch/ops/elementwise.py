"""Elementwise ops: arithmetic, comparisons, logic, activations, casts.

Each result keeps the dtype ONNX gives it. ONNX requires equal input types for
arithmetic, so torch's type promotion never widens a result, except Pow whose
exponent may have its own type: its result is cast back to the base's type.
"""
from __future__ import annotations

import math

from ..dtypes import torch_dtype
from .registry import NodeView, register


def _torch():
    import torch

    return torch


@register("Add")
def add(nv: NodeView):
    return _torch().add


@register("Sub")
def sub(nv: NodeView):
    return _torch().sub


@register("Mul")
def mul(nv: NodeView):
    return _torch().mul


@register("Div")
def div(nv: NodeView):
    torch = _torch()
    dtype = nv.in_dtype(0)
    if dtype is not None and not dtype.is_floating_point:
        # ONNX integer division truncates toward zero (C semantics).
        return lambda a, b: torch.div(a, b, rounding_mode="trunc")
    return torch.div


@register("Pow")
def pow_(nv: NodeView):
    torch = _torch()
    base, exponent = nv.in_dtype(0), nv.in_dtype(1)
    if base is not None and base == exponent:
        return torch.pow
    return lambda a, b: torch.pow(a, b).to(a.dtype)


@register("Mod")
def mod(nv: NodeView):
    torch = _torch()
    return torch.fmod if nv.attr("fmod", 0) else torch.remainder


def _variadic(fold):
    def fn(*xs):
        acc = xs[0]
        for x in xs[1:]:
            acc = fold(acc, x)
        return acc
    return fn


@register("Sum")
def sum_(nv: NodeView):
    return _variadic(_torch().add)


@register("Max")
def max_(nv: NodeView):
    return _variadic(_torch().maximum)


@register("Min")
def min_(nv: NodeView):
    return _variadic(_torch().minimum)


@register("Mean")
def mean(nv: NodeView):
    add = _variadic(_torch().add)
    return lambda *xs: add(*xs) / len(xs)


_UNARY = {
    "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Erf": "erf", "Exp": "exp", "Log": "log", "Sqrt": "sqrt",
    "Reciprocal": "reciprocal", "Neg": "neg", "Abs": "abs", "Sin": "sin", "Cos": "cos", "Tan": "tan",
    "Floor": "floor", "Ceil": "ceil", "Round": "round", "Sign": "sign", "IsNaN": "isnan", "Not": "logical_not",
    "Asin": "asin", "Acos": "acos", "Atan": "atan", "Sinh": "sinh", "Cosh": "cosh", "Asinh": "asinh",
    "Acosh": "acosh", "Atanh": "atanh", "BitwiseNot": "bitwise_not",
}


@register(*_UNARY)
def unary(nv: NodeView):
    return getattr(_torch(), _UNARY[nv.op_type])


_BINARY = {
    "Equal": "eq", "Less": "lt", "LessOrEqual": "le", "Greater": "gt", "GreaterOrEqual": "ge",
    "And": "logical_and", "Or": "logical_or", "Xor": "logical_xor", "BitwiseAnd": "bitwise_and",
    "BitwiseOr": "bitwise_or", "BitwiseXor": "bitwise_xor",
}


@register(*_BINARY)
def binary(nv: NodeView):
    return getattr(_torch(), _BINARY[nv.op_type])


@register("BitShift")
def bit_shift(nv: NodeView):
    torch = _torch()
    return torch.bitwise_left_shift if nv.attr("direction") == "LEFT" else torch.bitwise_right_shift


@register("Where")
def where(nv: NodeView):
    return _torch().where


@register("IsInf")
def isinf(nv: NodeView):
    torch = _torch()
    neg, pos = nv.attr("detect_negative", 1), nv.attr("detect_positive", 1)
    if neg and pos:
        return torch.isinf
    if pos:
        return torch.isposinf
    if neg:
        return torch.isneginf
    return lambda x: torch.zeros_like(x, dtype=torch.bool)


@register("LeakyRelu")
def leaky_relu(nv: NodeView):
    import torch.nn.functional as F

    alpha = nv.attr("alpha", 0.01)
    return lambda x: F.leaky_relu(x, alpha)


@register("Elu")
def elu(nv: NodeView):
    import torch.nn.functional as F

    alpha = nv.attr("alpha", 1.0)
    return lambda x: F.elu(x, alpha)


@register("Selu")
def selu(nv: NodeView):
    torch = _torch()
    alpha = nv.attr("alpha", 1.67326319217681884765625)
    gamma = nv.attr("gamma", 1.05070102214813232421875)
    return lambda x: gamma * torch.where(x > 0, x, alpha * torch.expm1(x))


@register("Celu")
def celu(nv: NodeView):
    import torch.nn.functional as F

    alpha = nv.attr("alpha", 1.0)
    return lambda x: F.celu(x, alpha)


@register("HardSigmoid")
def hard_sigmoid(nv: NodeView):
    torch = _torch()
    alpha, beta = nv.attr("alpha", 0.2), nv.attr("beta", 0.5)
    return lambda x: torch.clamp(x * alpha + beta, 0.0, 1.0)


@register("HardSwish")
def hard_swish(nv: NodeView):
    import torch.nn.functional as F

    return F.hardswish


@register("Softplus")
def softplus(nv: NodeView):
    import torch.nn.functional as F

    # F.softplus returns x above 20, where log(1 + e^x) - x < 3e-9 anyway.
    return F.softplus


@register("Swish")
def swish(nv: NodeView):
    torch = _torch()
    alpha = nv.attr("alpha", 1.0)
    return lambda x: x * torch.sigmoid(alpha * x)


@register("Shrink")
def shrink(nv: NodeView):
    torch = _torch()
    lambd, bias = nv.attr("lambd", 0.5), nv.attr("bias", 0.0)
    return lambda x: torch.where(x < -lambd, x + bias, torch.where(x > lambd, x - bias, torch.zeros_like(x)))


@register("Softsign")
def softsign(nv: NodeView):
    torch = _torch()
    return lambda x: x / (1 + torch.abs(x))


@register("Mish")
def mish(nv: NodeView):
    import torch.nn.functional as F

    return F.mish


@register("Gelu")
def gelu(nv: NodeView):
    import torch.nn.functional as F

    approximate = nv.attr("approximate", "none")
    return lambda x: F.gelu(x, approximate=approximate)


@register("PRelu")
def prelu(nv: NodeView):
    torch = _torch()
    return lambda x, slope: torch.where(x < 0, x * slope, x)


@register("ThresholdedRelu")
def thresholded_relu(nv: NodeView):
    torch = _torch()
    alpha = nv.attr("alpha", 1.0)
    return lambda x: torch.where(x > alpha, x, torch.zeros((), dtype=x.dtype, device=x.device))


@register("Clip")
def clip(nv: NodeView):
    torch = _torch()
    if nv.opset < 11:
        lo, hi = nv.attr("min", -math.inf), nv.attr("max", math.inf)
        return lambda x: torch.clamp(x, lo, hi)
    lo = nv.const_scalar(1) if nv.has_input(1) else None
    hi = nv.const_scalar(2) if nv.has_input(2) else None
    if (lo is not None or not nv.has_input(1)) and (hi is not None or not nv.has_input(2)):
        if lo is None and hi is None:  # neither bound given: ONNX's Clip is the identity
            return lambda x, *_: x
        return lambda x, *_: torch.clamp(x, lo, hi)
    return lambda x, lo_t=None, hi_t=None: torch.clamp(x, lo_t, hi_t)


@register("Identity")
def identity(nv: NodeView):
    return lambda x: x


@register("Dropout")
def dropout(nv: NodeView):
    """Inference Dropout: the identity, with an all-true mask.

    Training mode draws a random mask no other runtime reproduces, so a graph
    that may run it is refused when built: training_mode given and not a
    constant false, unless the ratio is a constant 0 (no element is dropped).
    """
    torch = _torch()
    training = nv.has_input(2) and nv.const_scalar(2) is not False
    if training and not (nv.has_input(1) and nv.const_scalar(1) == 0):
        raise nv.fail("training-mode Dropout (training_mode not a constant false) draws random masks; the backend "
                      "runs inference only")
    if len(nv.outputs) > 1 and nv.outputs[1]:
        return lambda x, *_: (x, torch.ones_like(x, dtype=torch.bool))
    return lambda x, *_: x


FP8_MAX = {"float8_e4m3fn": 448.0, "float8_e5m2": 57344.0, "float8_e4m3fnuz": 240.0, "float8_e5m2fnuz": 57344.0}


def cast_fn(dtype, saturate: bool = True):
    """A function casting to `dtype`; float8 targets saturate like ONNX's default."""
    torch = _torch()
    limit = FP8_MAX.get(str(dtype).replace("torch.", ""))
    if limit is not None and saturate:
        # torch's float8 conversion turns out-of-range values into NaN; ONNX
        # (saturate=1, the default) clamps them to the largest finite value.
        return lambda x: torch.clamp(x, -limit, limit).to(dtype)
    return lambda x: x.to(dtype)


@register("Cast")
def cast(nv: NodeView):
    return cast_fn(torch_dtype(nv.attr("to")), bool(nv.attr("saturate", 1)))


@register("CastLike")
def cast_like(nv: NodeView):
    if nv.in_dtype(1) is not None:
        fn = cast_fn(nv.in_dtype(1), bool(nv.attr("saturate", 1)))
        return lambda x, _like: fn(x)
    return lambda x, like: x.to(like.dtype)
