#!/usr/bin/env python3
"""Runs ONNX's node conformance cases through trtpipe's torch backend (issue 21) and prints the table.

    python3 bench/torch_conformance.py                       # CPU: the table, refused ops, failures
    python3 bench/torch_conformance.py --write-docs          # CPU: also rewrites the table in docs/torch.md
    python3 bench/torch_conformance.py --device cuda --json $OUT/conformance.json
                                                             # GPU host: CUDA, then CPU, and the differences

Needs Python 3.10+, torch, onnx, numpy, ml_dtypes; no Node.js and no network (the cases ship
with the onnx package). trtpipe_runner is imported from ./runner-py. Each case is built, loaded
and run (generic plan, then the specialized one) as a user's model is, and compared as ONNX's
own backend test compares (see runner-py/trtpipe_runner/backends/torch/conformance.py).
Exit code: 0 when no case is wrong or crashes on any device run, 1 otherwise, 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "runner-py"))

DOC = REPO / "docs" / "torch.md"


def versions(device: str) -> str:
    import onnx
    import torch

    return f"onnx {onnx.__version__}, torch {torch.__version__.split('+')[0]}, {device}"


def run(device: str, pattern: str | None, verbose: bool):
    from trtpipe_runner.backends.torch import conformance as conf

    cases = conf.collect_cases(pattern)
    t0 = time.perf_counter()

    def progress(i: int, n: int, r) -> None:
        if verbose or r.outcome in ("wrong", "crash"):
            print(f"  [{i}/{n}] {r.name}: {r.outcome} {r.detail[:160]}", flush=True)

    results = conf.run_all(cases, device, progress)
    return results, time.perf_counter() - t0


def print_table(title: str, results, seconds: float) -> None:
    from trtpipe_runner.backends.torch import conformance as conf

    counts = conf.tally(results)
    print(f"\n{title} ({seconds:.0f} s)")
    print("| result | cases |\n|---|---|")
    for k in (*conf.OUTCOMES, "total"):
        print(f"| {k} | {counts[k]} |")
    for r in results:
        if r.outcome in ("wrong", "crash"):
            print(f"  {r.outcome}: {r.name}: {r.detail}")


def print_refusals(results) -> None:
    from trtpipe_runner.backends.torch import conformance as conf

    print("\nrefused ops (cases): reasons")
    for op, reasons in conf.refusals(results).items():
        print(f"  {op} ({sum(reasons.values())}): " + "; ".join(f"{why} [{n}]" for why, n in reasons.items()))


def print_differences(device: str, gpu, cpu) -> int:
    by_name = {r.name: r for r in cpu}
    diffs = [(r, by_name[r.name]) for r in gpu if r.name in by_name and r.outcome != by_name[r.name].outcome]
    print(f"\ndifferences between {device} and cpu: {len(diffs)} case(s)")
    for g, c in diffs:
        print(f"  {g.name}: {device} {g.outcome}, cpu {c.outcome}: {g.detail or c.detail}")
    return len(diffs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    ap.add_argument("--cases", help="only the cases whose name matches this regular expression")
    ap.add_argument("--write-docs", action="store_true", help="rewrite the generated section of docs/torch.md")
    ap.add_argument("--no-cpu", action="store_true", help="with --device cuda: skip the CPU run and the differences")
    ap.add_argument("--json", type=Path, help="write every case's outcome here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case as it finishes")
    args = ap.parse_args(argv)
    if args.write_docs and (args.device != "cpu" or args.cases):
        ap.error("--write-docs records the full CPU run: leave out --device and --cases")

    import torch  # noqa: F401 - fail here, with Python's message, when torch is missing
    from trtpipe_runner.backends.torch import conformance as conf
    from trtpipe_runner.backends.torch.settings import check_device, parse_settings
    from trtpipe_runner.errors import UserError

    try:
        check_device(parse_settings({"device": args.device}).device)
    except UserError as exc:  # otherwise every case would count as refused
        print(f"torch_conformance: {exc.message}", file=sys.stderr)
        return 2

    print(f"{versions(args.device)}, python {platform.python_version()}")
    results, seconds = run(args.device, args.cases, args.verbose)
    print_table(f"ONNX node conformance on {args.device}", results, seconds)
    print_refusals(results)
    report = {"device": args.device, "versions": versions(args.device), "seconds": round(seconds, 1),
              "tally": conf.tally(results), "cases": [r.to_json() for r in results]}
    failed = conf.tally(results)["wrong"] + conf.tally(results)["crash"]
    if args.device != "cpu" and not args.no_cpu:
        cpu, cpu_seconds = run("cpu", args.cases, False)
        print_table("the same cases on cpu", cpu, cpu_seconds)
        print_differences(args.device, results, cpu)
        report["cpu"] = {"tally": conf.tally(cpu), "cases": [r.to_json() for r in cpu]}
        failed += conf.tally(cpu)["wrong"] + conf.tally(cpu)["crash"]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.write_docs:
        section = conf.render_markdown(results, versions(args.device))
        DOC.write_text(conf.replace_section(DOC.read_text(), section))
        print(f"\nwrote the table and {len(conf.refusals(results))} refused ops to {DOC.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
