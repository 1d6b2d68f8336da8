"""Run benchmark workloads in nanotorch and PyTorch in one invocation and print a table.

    python -m benchmarks.run                 # every workload (the recipe takes minutes)
    python -m benchmarks.run W1 W2 --memory  # some, with peak memory (subprocess per lib)
    python -m benchmarks.run W6 recipe       # the MobileNetV2 workloads

Workloads: matmul, elementwise, softmax, mlp_matmul (core ops); W1 MLP, W2 small CNN,
W3 resnet18 head-only, W4 resnet18 full, W5 resnet18 inference, W6 mobilenet_v2 head-only
(train steps, median time per step); recipe: the default fine-tuning recipe end to end
(recipes/finetune.py, which caches the frozen backbone's features) against the same job
as a plain PyTorch loop (benchmarks/recipe_torch.py), one unwarmed run each, with the
test accuracy each reached.

PyTorch is optional: without it only nanotorch's numbers are printed."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time

from benchmarks import harness
from benchmarks.workloads import WORKLOADS


def _load_torch(threads):
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def format_time(unit, batch, seconds):
    """A step's time as the table shows it: ms (s from 10 s), s, or images per second."""
    if seconds is None:
        return "-"
    if unit == "img/s":
        return f"{batch / seconds:.1f} img/s"
    if unit == "s":
        return f"{seconds:.1f} s"
    return f"{seconds * 1e3:.2f} ms" if seconds < 10 else f"{seconds:.1f} s"


def format_memory(b):
    return "-" if b is None else f"{b / 2**20:.0f} MiB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\nPyTorch")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*",
                        help=f"workloads to run (default: all): {', '.join(WORKLOADS)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed steps per workload (one-shot workloads run once)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the machine and every row's raw numbers as JSON "
                             "(read by benchmarks.figures)")
    args = parser.parse_args(argv)
    names = args.names or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")

    t0 = time.perf_counter()
    import nanotorch
    nanotorch.set_num_threads(args.threads)
    import_s = time.perf_counter() - t0
    torch = None if args.no_torch else _load_torch(args.threads)
    machine = describe_machine(args.threads, torch)
    print(f"# machine: {machine['cpu']}, {machine['cores']} cores, {args.threads} threads; "
          f"{machine['versions']}; OpenBLAS kernels {machine['openblas_core']}; "
          f"load average {machine['load_before']}")
    print(f"# import nanotorch: {import_s:.2f} s")
    header = ["workload", "nanotorch", "torch", "ratio (nt/torch time)"]
    if args.memory:
        header += ["nt peak mem", "torch peak mem"]
    with_notes = any(WORKLOADS[n].note for n in names)
    if with_notes:
        header.append("notes")
    rows, records = [header], []
    for name in names:
        w = WORKLOADS[name]
        seconds, results, notes = {}, {}, []
        for lib in [nanotorch] + ([torch] if torch is not None else []):
            seconds[lib.__name__], results[lib.__name__] = _time(w, lib, args.repeat)
            if w.note and results[lib.__name__] is not None:
                notes.append(f"{'nt' if lib is nanotorch else 'torch'}: "
                             f"{w.note(results[lib.__name__])}")
            harness.collect()
        nt, th = seconds.get("nanotorch"), seconds.get("torch")
        ratio = f"{nt / th:.2f}" if nt and th else "-"
        row = [name, format_time(w.unit, w.batch, nt), format_time(w.unit, w.batch, th), ratio]
        memory = {}
        if args.memory and w.memory:
            memory = {lib: _peak_memory(name, lib, results.get(lib))
                      for lib in ["nanotorch"] + (["torch"] if torch else [])}
        if args.memory:
            row += [format_memory(memory.get("nanotorch")), format_memory(memory.get("torch"))]
        if with_notes:
            row.append("; ".join(notes) or "-")
        rows.append(row)
        records.append({"name": name, "description": w.description, "unit": w.unit,
                        "batch": w.batch, "seconds": seconds, "results": results,
                        "peak_memory": memory})
        print("  ".join(str(c) for c in row), flush=True)
    print()
    _print_markdown(rows)
    if args.json:
        machine["load_after"] = os.getloadavg()
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": records}, f, indent=1, default=str)


def describe_machine(threads, torch) -> dict:
    """What the figures depend on: processor, versions, the BLAS kernels, the load."""
    import numba
    import numpy
    import threadpoolctl

    import nanotorch
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = [p for p in threadpoolctl.threadpool_info() if p.get("internal_api") == "openblas"]
    versions = (f"python {platform.python_version()}, nanotorch {nanotorch.__version__}, "
                f"numpy {numpy.__version__} (OpenBLAS {blas[0]['version'] if blas else '?'}), "
                f"numba {numba.__version__}, torch {getattr(torch, '__version__', 'absent')}")
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "versions": versions,
            "openblas_core": blas[0].get("architecture") if blas else None,
            "date": time.strftime("%Y-%m-%d"), "load_before": os.getloadavg()}


def _peak_memory(name, lib, result):
    """A whole-process run reports its own peak (re-running it would double its time);
    other workloads are measured in a fresh subprocess."""
    if isinstance(result, dict) and "peak_rss" in result:
        return result["peak_rss"]
    return harness.measure_peak_memory(name, lib)


def _time(w, lib, repeat):
    """(seconds or None, a one-shot step's return value or None) for one workload in one
    library."""
    try:
        step = w.make(lib)
        if w.oneshot:
            return harness.time_once(step)
        return harness.median_time(step, warmup=2, repeat=repeat or w.repeat), None
    except Exception as e:  # a missing feature must not hide the other numbers
        print(f"# {w.name} failed in {lib.__name__}: {type(e).__name__}: {e}", file=sys.stderr)
        return None, None


def _print_markdown(rows):
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for r in rows[1:]:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
