"""`compile: true`: a specialized plan compiled by TorchInductor (torch.compile).

The plan (program.py) launches one kernel per node; TensorRT fuses the
elementwise work around its GEMMs and convolutions into them. Inductor does
the same for the plan: normalizations, activations, residual adds, the
quantize before an int8/fp8 GEMM and the scale-and-bias after it become a few
Triton kernels, so the evaluator's latency of a quantized or transformer graph
says what fused kernels cost, not what launching each node does.

Compiling takes seconds to minutes and needs Triton and a C compiler on the
runner; it happens on the second run with a set of input shapes (the first
builds the specialized plan), so a shape met once (an evaluation's last,
smaller batch) is never compiled. The generic plan (data-dependent shapes)
always runs eagerly.
"""
from __future__ import annotations

from typing import Any, Callable

from ...errors import UnsupportedError


def compiled(plan_fn: Callable[..., Any]) -> Callable[..., Any]:
    """`plan_fn` compiled by Inductor for its input shapes; a failure to compile (no Triton, no
    compiler, an op Inductor rejects) is an UnsupportedError saying so, raised on the first call."""
    import torch

    fn = torch.compile(plan_fn, dynamic=False, fullgraph=False)
    first = True

    def run(*feeds):
        nonlocal first
        if not first:
            return fn(*feeds)
        try:
            out = fn(*feeds)
        except Exception as exc:  # noqa: BLE001 - dynamo/inductor raise many kinds; all mean "cannot compile"
            lines = str(exc).strip().splitlines()
            raise UnsupportedError(
                f"torch.compile could not compile the model ({type(exc).__name__}: {lines[0][:300] if lines else ''}); "
                "it needs Triton and a C compiler on the runner for CUDA (a C++ compiler for CPU): install them, "
                "or set compile: false in the target's build settings", code="TORCH_COMPILE_FAILED") from None
        first = False
        return out
    return run
