"""Matrix products: MatMul, Gemm, Einsum, and the fused Linear (MatMul + bias Add).

fp16/bf16 products run on tensor cores with fp32 accumulation (cuBLAS
defaults), fp32 ones in IEEE fp32 unless the cell's precision is tf32 (the
session sets the TF32 switches, see session.py).
"""
from __future__ import annotations

from .registry import NodeView, register

LINEAR = "trtpipe.Linear"  # fused: y = x @ W.T + b, W a 2-D constant [out, in], b a 1-D constant


@register("MatMul")
def matmul(nv: NodeView):
    import torch

    return torch.matmul


@register(LINEAR)
def linear(nv: NodeView):
    import torch.nn.functional as F

    weight = nv.const(1)
    if weight is None or weight.dim() != 2:
        raise nv.fail("the fused Linear needs a constant 2-D weight", code="INTERNAL")
    # fusion.py stored the weight as nn.Linear does ([out, in]): F.linear runs
    # the same GEMM, with the bias added in its epilogue.
    return F.linear


@register("Gemm")
def gemm(nv: NodeView):
    import torch

    alpha, beta = nv.attr("alpha", 1.0), nv.attr("beta", 1.0)
    ta, tb = bool(nv.attr("transA", 0)), bool(nv.attr("transB", 0))

    def fn(a, b, c=None):
        a = a.t() if ta else a
        b = b.t() if tb else b
        if c is None:
            out = torch.mm(a, b)
            return out * alpha if alpha != 1.0 else out
        return torch.addmm(c, a, b, beta=beta, alpha=alpha)
    return fn


@register("Einsum")
def einsum(nv: NodeView):
    import torch

    equation = nv.attr("equation").replace(" ", "")
    return lambda *xs: torch.einsum(equation, *xs)
