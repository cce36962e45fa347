#!/usr/bin/env python3
"""bench/cpu_probe: how many cores this host really gives at once (a container's CPU quota can be
smaller than the cores it shows). N processes, each single-threaded, run the same fixed numpy work;
prints the aggregate throughput against one process. Used beside bench/scale, whose speed-up means
nothing on a host that cannot run its runners side by side.

    python3 bench/cpu_probe.py [--procs 1,2,4,8,16] [--seconds 3]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread per process
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import multiprocessing as mp  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def work(seconds: float, q) -> None:
    a = np.random.default_rng(0).standard_normal((256, 256), dtype=np.float32)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        a = np.tanh(a @ a * 0.01)
        done += 1
    q.put(done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    quota = "unknown"
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota = f.read().strip()
    except OSError:
        pass
    print(f"cpu_probe: os.cpu_count {os.cpu_count()}, sched_getaffinity {len(os.sched_getaffinity(0))}, "
          f"cgroup cpu.max {quota}")
    base = 0.0
    for n in (int(x) for x in args.procs.split(",")):
        q = mp.Queue()
        ps = [mp.Process(target=work, args=(args.seconds, q)) for _ in range(n)]
        for p in ps:
            p.start()
        total = sum(q.get() for _ in ps)
        for p in ps:
            p.join()
        rate = total / args.seconds
        base = base or rate
        print(f"  {n:2d} process(es): {rate:8.0f} steps/s  = {rate / base:5.2f}x one process")


if __name__ == "__main__":
    main()
