"""Reads benchmark results of `run-stage benchmark --json-out` and prints, per result,
the p50 and noise per batch, the exclusive lease and the device state; then for every
pair of results whether their timing loops overlapped (from the recorded timestamps)
and the ratio of their p50s. Used by bench/gpu_latency.sh.

    python3 bench/lease_report.py LABEL=result.json [LABEL=result.json ...]
"""
from __future__ import annotations

import itertools
import json
import sys


def load(spec: str) -> tuple[str, dict]:
    label, _, path = spec.partition("=")
    with open(path) as f:
        return label, json.load(f)


def describe(label: str, r: dict) -> None:
    d = r["details"]
    lease = d["lease"]
    gpu = (d["device"].get("before") or {}).get("gpu") or {}
    state = ", ".join(f"{k} {gpu[k]}" for k in ("name", "sm_clock_mhz", "temperature_c", "power_w", "throttle_reasons",
                                                 "source") if k in gpu)
    print(f"{label}: {d['device']['name']} ({'exclusive' if lease['enforced'] else 'NOT exclusive'}, waited "
          f"{lease['wait_seconds']:.2f} s); timer {d['timer']}; {state or 'no GPU state'}")
    for b, s in d["batches"].items():
        noise = s.get("repeat_cv", s["cv"])
        print(f"  b{b}: p50 {s['latency_p50_ms']:.4f} ms, p99 {s['latency_p99_ms']:.4f} ms, noise {noise * 100:.1f}%, "
              f"{int(s['iterations'])} iterations, stopped by {'/'.join(s['stopped_by'])}")
    c = d["contention"]
    gpu_procs = f", other processes on the GPU {c['other_gpu_processes'] or 'none'}" if "other_gpu_processes" in c else ""
    print(f"  during timing: other stages {c['concurrent_stages'] or 'none'}{gpu_procs}, "
          f"others' CPU {c['max_other_cores']} cores")


def windows(r: dict) -> list[tuple[float, float]]:
    return [(w["warmup_started_at"], w["ended_at"]) for w in r["details"]["timing"]]


def main() -> None:
    results = [load(s) for s in sys.argv[1:]]
    for label, r in results:
        describe(label, r)
    for (la, a), (lb, b) in itertools.combinations(results, 2):
        if a["details"]["device"]["name"] != b["details"]["device"]["name"]:
            continue
        overlaps = sum(1 for x in windows(a) for y in windows(b) if x[0] < y[1] and y[0] < x[1])
        ratios = ", ".join(f"b{k} x{b['details']['batches'][k]['latency_p50_ms'] / v['latency_p50_ms']:.3f}"
                           for k, v in a["details"]["batches"].items() if k in b["details"]["batches"])
        print(f"{lb} vs {la}: {overlaps} overlapping timing loops; p50 ratio {ratios}")


if __name__ == "__main__":
    main()
