#!/usr/bin/env python3
"""Where a quantized GEMM's time goes on a GPU: the parts of the torch backend's int8/fp8 path
(ops/quant.py, ops/qgemm.py) timed one by one on BERT-base's GEMM shapes (M = 64 x 128 rows), next
to the fp16 GEMM they replace. One command, about a minute on an H200:

    python3 bench/gpu_qgemm_parts.py [--out $OUT]

Each part is captured in a CUDA graph and replayed (the evaluator's timing), median of CUDA event
timings. Prints a table (microseconds per call) and whether torch.compile can make Triton kernels on
this host (Triton needs a C compiler at first use). Figures only, no goals: it explains the
end-to-end numbers of bench/gpu_torch_kernels.py.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "runner-py")]

SHAPES = ((8192, 768, 768), (8192, 768, 3072), (8192, 3072, 768))  # (M, K, N): attention out, FC1, FC2


def time_us(fn, reps: int = 50) -> float:
    """Median microseconds of one call, replayed from a CUDA graph (eager if it cannot be captured)."""
    import torch

    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    run = fn
    try:
        graph = torch.cuda.CUDAGraph()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            fn()
            with torch.cuda.graph(graph, stream=stream):
                fn()
        torch.cuda.synchronize()
        run = graph.replay
    except Exception:  # noqa: BLE001 - eager timing then; the table says which
        run = fn
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(10):
            run()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 100.0)  # ms for 10 calls -> us per call
    times.sort()
    return times[len(times) // 2]


def parts(m: int, k: int, n: int) -> dict[str, callable]:
    import torch

    dev = "cuda"
    x16 = torch.randn(m, k, device=dev, dtype=torch.float16)
    w16 = torch.randn(n, k, device=dev, dtype=torch.float16) / k ** 0.5
    bias16 = torch.randn(n, device=dev, dtype=torch.float16)
    s_x = float(x16.abs().max()) / 127
    w_scale = (w16.float().abs().amax(dim=1) / 127).clamp_min(1e-8)
    w8 = torch.round(w16.float() / w_scale[:, None]).clamp(-128, 127).to(torch.int8).contiguous()
    x8 = torch.round(x16.float() / s_x).clamp(-128, 127).to(torch.int8).contiguous()
    acc = torch._int_mm(x8, w8.t())
    combined = (s_x * w_scale).float()
    zp = torch.zeros((), dtype=torch.int8, device=dev)
    s_t = torch.tensor(s_x, device=dev)
    out = {
        "fp16 linear (+bias)": lambda: torch.nn.functional.linear(x16, w16, bias16),
        # ops/quant.py q_int as it runs today: float, divide, round, zero point, clamp, cast
        "int8 quantize (today)": lambda: torch.clamp(torch.round(x16.float() / s_t.float()) + zp.float(),
                                                    -128, 127).to(torch.int8),
        "int8 quantize (fp32 mul, round, clamp_, cast)": lambda: torch.round(x16 * (1.0 / s_x), out=None)
        .clamp_(-128, 127).to(torch.int8),
        "int8 quantize (quantize_per_tensor + int_repr)": lambda: torch.quantize_per_tensor(
            x16.float(), s_x, 0, torch.qint8).int_repr(),
        "torch._int_mm": lambda: torch._int_mm(x8, w8.t()),
        "int8 epilogue (addcmul -> fp16)": lambda: torch.addcmul(bias16, acc, combined,
                                                                  out=torch.empty(m, n, dtype=torch.float16,
                                                                                  device=dev)),
    }
    if torch.cuda.get_device_capability() >= (8, 9):
        f8 = torch.float8_e4m3fn
        wf8 = (w16.float() / w_scale[:, None] * (127 / 448)).clamp(-448, 448).to(f8).contiguous()
        xf8 = (x16.float() / s_x).clamp(-448, 448).to(f8).contiguous()
        one = torch.ones((), device=dev)
        row_a = torch.full((m, 1), s_x, device=dev)
        col_b = w_scale[None, :].contiguous()
        bias_bf = bias16.bfloat16()
        out.update({
            "fp8 quantize (today)": lambda: torch.clamp(x16.float() / s_t.float(), -448, 448).to(f8),
            "fp8 _scaled_mm per-tensor -> fp16 (+bias)": lambda: torch._scaled_mm(
                xf8, wf8.t(), scale_a=s_t, scale_b=one, bias=bias16, out_dtype=torch.float16),
            "fp8 _scaled_mm -> fp32, then per-channel epilogue (today)": lambda: torch.addcmul(
                bias16, torch._scaled_mm(xf8, wf8.t(), scale_a=s_t, scale_b=one, out_dtype=torch.float32),
                w_scale, out=torch.empty(m, n, dtype=torch.float16, device=dev)),
            # cuBLASLt applies row-wise (per-row activation, per-channel weight) scales in its epilogue,
            # but only with bf16 output in the torch versions we know
            "fp8 _scaled_mm row-wise scales -> bf16 (+bias)": lambda: torch._scaled_mm(
                xf8, wf8.t(), scale_a=row_a, scale_b=col_b, bias=bias_bf, out_dtype=torch.bfloat16),
        })
    return out


def compile_probe() -> dict:
    """Can torch.compile make a Triton kernel here (a fused quantize)?"""
    import torch

    info = {"cc": shutil.which("cc") or shutil.which("gcc") or "", "triton": ""}
    try:
        import triton

        info["triton"] = triton.__version__
    except Exception as exc:  # noqa: BLE001
        info["triton"] = f"missing: {exc}"
    try:
        fn = torch.compile(lambda x, s: torch.clamp(torch.round(x.float() / s), -128, 127).to(torch.int8),
                           dynamic=False)
        x = torch.randn(8192, 768, device="cuda", dtype=torch.float16)
        fn(x, 0.05)
        info["compiled_quantize_us"] = time_us(lambda: fn(x, 0.05))
        info["compile"] = "ok"
    except Exception as exc:  # noqa: BLE001
        info["compile"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="directory for gpu_qgemm_parts.json")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_qgemm_parts: needs a CUDA GPU", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_grad_enabled(False)
    doc = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(), "shapes": {}}
    for m, k, n in SHAPES:
        rows = {}
        for name, fn in parts(m, k, n).items():
            try:
                rows[name] = round(time_us(fn), 2)
            except Exception as exc:  # noqa: BLE001 - e.g. a kernel this torch lacks: keep the others
                traceback.print_exc(limit=1)
                rows[name] = f"error: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}"
        doc["shapes"][f"M={m} K={k} N={n}"] = rows
        print(f"\n== M={m} K={k} N={n} (us per call, CUDA graph replay) ==")
        for name, v in rows.items():
            print(f"  {name:58s} {v:>10.2f}" if isinstance(v, float) else f"  {name:58s} {v}")
    doc["compile"] = compile_probe()
    print("\ntorch.compile:", json.dumps(doc["compile"]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_qgemm_parts.json").write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
