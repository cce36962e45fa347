"""The fused quantized GEMM (fusion_qgemm.py): int8 on torch._int_mm, fp8 e4m3 on torch._scaled_mm.

Inputs: the quantized activation [..., K] (int8 or float8_e4m3fn), its
per-tensor scale, the quantized weight stored [N, K], the weight scale (per
output channel [N], or one value) and an optional bias [N]. Output: the
float type the graph gives the GEMM.

int8: torch._int_mm accumulates int8 x int8 products exactly in int32; the
activation x weight scales and the bias are applied to the int32 result in
one fp32 pass that writes the output type (torch.addcmul into an output of
that type). On CUDA _int_mm wants more than 16 rows: smaller inputs are
padded with zero rows. fp8: torch._scaled_mm applies per-tensor scales
itself; a per-channel weight scale is applied to its fp32 result instead.
"""
from __future__ import annotations

from .registry import NodeView, register

QGEMM = "trtpipe.QGemm"
MIN_CUDA_ROWS = 17  # torch._int_mm on CUDA: "self.size(0) needs to be greater than 16"


@register(QGEMM)
def qgemm(nv: NodeView):
    import torch

    kind = nv.attr("kind")
    out_dtype = nv.out_dtype(0)
    a_scale, w_scale = nv.const(1), nv.const(3)
    if a_scale is None or w_scale is None or nv.const(2) is None:
        raise nv.fail("the fused quantized GEMM needs constant scales and weight", code="INTERNAL")
    n = nv.const(2).shape[0]
    # Both scales in one fp32 vector [N] (or one value): applied to the int32 / fp32 product.
    combined = (a_scale.float().reshape(()) * w_scale.float()).reshape(-1)
    per_channel = w_scale.numel() > 1
    on_device: dict = {}

    def scale_on(device, value=combined):
        t = on_device.get((device, id(value)))
        if t is None:
            t = on_device[(device, id(value))] = value.to(device)
        return t

    one = __import__("torch").ones(())

    def epilogue(product, scale, bias):
        out = torch.empty(product.shape, dtype=out_dtype, device=product.device)
        if bias is None:
            return torch.mul(product, scale, out=out)
        return torch.addcmul(bias, product, scale, out=out)

    def int8(x, _xs, w, _ws, bias=None):
        lead = x.shape[:-1]
        a = x.reshape(-1, x.shape[-1])
        rows = a.shape[0]
        if a.is_cuda and rows < MIN_CUDA_ROWS:
            a = torch.cat([a, a.new_zeros(MIN_CUDA_ROWS - rows, a.shape[1])])
        acc = torch._int_mm(a.contiguous(), w.t())
        if acc.shape[0] != rows:
            acc = acc[:rows]
        return epilogue(acc, scale_on(acc.device), bias).reshape(*lead, n)

    def fp8(x, xs, w, ws, bias=None):
        lead = x.shape[:-1]
        a = x.reshape(-1, x.shape[-1]).contiguous()
        sa = xs.float().reshape(())
        if per_channel:
            product = torch._scaled_mm(a, w.t(), scale_a=sa, scale_b=scale_on(a.device, one),
                                       out_dtype=torch.float32)
            out = epilogue(product, ws.float(), bias)
        else:
            product = torch._scaled_mm(a, w.t(), scale_a=sa, scale_b=ws.float().reshape(()), out_dtype=out_dtype)
            out = product if bias is None else product.add_(bias)
        return out.reshape(*lead, n)

    return int8 if kind == "int8" else fp8
