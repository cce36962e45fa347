"""The tables bench/gpu_tensorrt.py prints, with issue 23's goals beside the figures."""
from __future__ import annotations

import math


def ratios(latency: list[dict], batch: int) -> list[dict]:
    """TensorRT p50 ratios at `batch`: fp16/fp32 (goal <= 0.40), int8/fp16 (<= 0.70; also for the
    int8 variants built as before issue 23's placement work), bf16/fp32, fp8/fp16."""
    at = {(r["model"], r["precision"]): r.get("trt_p50_ms") for r in latency if r["batch"] == batch}
    out = []
    for model in sorted({m for m, _ in at}):
        def q(a, b):
            x, y = at.get((model, a)), at.get((model, b))
            return x / y if x and y else None

        out.append({"model": model, "batch": batch, "fp16_over_fp32": q("fp16", "fp32"),
                    "int8_over_fp16": q("int8", "fp16"), "bf16_over_fp32": q("bf16", "fp32"),
                    "fp8_over_fp16": q("fp8", "fp16"), "int8_fp32rest_over_fp16": q("int8-fp32rest", "fp16"),
                    "int8_stemfp16_over_fp16": q("int8-stemfp16", "fp16"),
                    "int8_fp16rest_casts_over_fp16": q("int8-fp16rest-casts", "fp16"),
                    "int8_before_over_fp16": q("int8-before", "fp16")})
    return out


def f(v, width=9, digits=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-".rjust(width)
    return f"{v:{width}.{digits}f}"


def print_tables(doc: dict) -> None:
    env = doc.get("environment", {})
    print(f"\nTensorRT {env.get('tensorrt')} on {env.get('gpu', env.get('device'))}, torch {env.get('torch')}")
    print("\n== builds (trtpipe build stage; wall = whole stage, build = build_serialized_network) ==")
    for r in doc["builds"]:
        if "error" in r:
            print(f"{r['model']:9s} {r['precision']:13s} NOT BUILT: {r['error'][:150]}")
        else:
            print(f"{r['model']:9s} {r['precision']:13s} wall {r['build_wall_s']:7.1f} s  build {r['build_s']:7.1f} s  "
                  f"engine {r['engine_mb']:7.1f} MB  realized {r['realized']}")
    print("\n== latency p50 ms (CUDA events, CUDA graph replay; TF32 off) ==")
    print(f"{'model':9s} {'prec':13s} {'batch':>5s} {'tensorrt':>10s} {'torch eval':>11s} {'native':>9s}")
    for r in doc["latency"]:
        print(f"{r['model']:9s} {r['precision']:13s} {r['batch']:5d} {f(r.get('trt_p50_ms'), 10)} "
              f"{f(r.get('torch_p50_ms'), 11)} {f(r.get('native_p50_ms'))}")
    print("\n== TensorRT ratios (goals: fp16/fp32 <= 0.40, int8/fp16 <= 0.70) ==")
    for r in doc["ratios"]:
        print(f"{r['model']:9s} b{r['batch']:<4d} fp16/fp32 {f(r['fp16_over_fp32'])}  int8/fp16 "
              f"{f(r['int8_over_fp16'])}  bf16/fp32 {f(r['bf16_over_fp32'])}  fp8/fp16 {f(r['fp8_over_fp16'])}")
        print(f"{'':9s} {'':5s} int8/fp16 before {f(r.get('int8_before_over_fp16'))}  with fp32 leftovers "
              f"{f(r.get('int8_fp32rest_over_fp16'))}  now {f(r['int8_over_fp16'])}  "
              f"fp16 leftovers, stem unquantized {f(r.get('int8_stemfp16_over_fp16'))}  "
              f"fp16 leftovers, fp32 Q/DQ behind Casts {f(r.get('int8_fp16rest_casts_over_fp16'))}")
    print("\n== timing cache (goal: warm build <= 0.5 x cold) ==")
    for r in doc["timing_cache"]:
        print(f"{r['model']:9s} {r['precision']:5s} cold {r['cold_build_s']:6.1f} s  warm {r['warm_build_s']:6.1f} s  "
              f"ratio {r['warm_build_s'] / r['cold_build_s']:.2f}  reused {r['reused']}")
    print("\n== build stage wall vs raw TensorRT API, same build, warm cache (goal <= 1.10) ==")
    for r in doc["build_wall"]:
        print(f"{r['model']:9s} {r['precision']:5s} stage {r['stage_wall_s']:6.1f} s  raw API {r['raw_total_s']:6.1f} s "
              f"(build call {r['raw_build_s']:.1f} s)  ratio {r['stage_wall_s'] / r['raw_total_s']:.2f}")
        if "raw_kept_builder_s" in r:  # the stage keeps its Builder between builds; a raw loop would too
            print(f"{'':15s} raw API with its Builder kept {r['raw_kept_builder_s']:6.1f} s (creating one: "
                  f"{r['raw_builder_s']:.1f} s)  ratio {r['stage_wall_s'] / r['raw_kept_builder_s']:.2f}")
        print(f"{'':15s} stage phases (s): {r.get('phases')}")
    print("\n== fidelity: cosine torch evaluator vs TensorRT, same annotated graph and inputs ==")
    print(f"{'model':11s} {'prec':5s} {'torch~trt':>10s} {'trt~fp32':>10s} {'torch~fp32':>11s}")
    for r in doc["fidelity"]:
        if "error" in r:
            print(f"{r['model']:11s} {r['precision']:5s} error: {r['error'][:120]}")
        else:
            print(f"{r['model']:11s} {r['precision']:5s} {r['cosine_torch_vs_trt']:10.6f} {r['cosine_trt_vs_fp32']:10.6f} "
                  f"{r['cosine_torch_vs_fp32']:11.6f}")
    print(f"\n{doc.get('seconds')} s in all")
