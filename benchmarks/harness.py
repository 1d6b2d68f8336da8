"""Timing and memory helpers shared by the benchmark workloads.

A workload is a function ``make(lib) -> step`` written once against the PyTorch API:
called with ``nanotorch`` or ``torch`` it builds the same model and data, and ``step()``
runs one iteration. Both libraries run in the same process, one after the other."""
from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time


def median_time(step, warmup: int = 3, repeat: int = 20, min_seconds: float = 0.0) -> float:
    """Median wall time of ``step()`` in seconds, after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - start) < min_seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        if len(times) >= 10 * repeat:
            break
    return statistics.median(times)


def time_once(step):
    """(wall time in seconds, return value) of a single ``step()``: for one-shot workloads
    such as a whole training run, where a warm-up would be a second run."""
    t = time.perf_counter()
    result = step()
    return time.perf_counter() - t, result


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss() -> None:
    """Linux: restart the peak-RSS (VmHWM) count from the current RSS."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_peak_memory(workload: str, lib: str, steps: int = 3) -> int | None:
    """Peak resident memory added by running ``steps`` steps of a workload (after one
    warm-up step; a one-shot workload runs once, unwarmed), measured in a fresh subprocess
    (so the two libraries do not share a peak)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (
        f"import gc, sys; sys.path.insert(0, {root!r});"
        "from benchmarks import workloads, harness;"
        f"import importlib; lib = importlib.import_module({lib!r});"
        f"w = workloads.WORKLOADS[{workload!r}]; step = w.make(lib); steps = {steps:d};"
        "steps = 1 if w.oneshot else (step(), steps)[1]; gc.collect();"
        "base = harness.rss_bytes(); harness.reset_peak_rss();"
        "[step() for _ in range(steps)];"
        "print(harness.peak_rss_bytes() - base)"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=600, check=True)
        return int(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def set_threads(torch_mod, n: int) -> None:
    if torch_mod is not None:
        torch_mod.set_num_threads(n)


def collect():
    gc.collect()
