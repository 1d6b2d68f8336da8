"""Run benchmark workloads in nanotorch and PyTorch in one invocation and print a table.

    python -m benchmarks.run                 # every workload
    python -m benchmarks.run W1 W2 --memory  # some, with peak memory (subprocess per lib)

PyTorch is optional: without it only nanotorch's numbers are printed."""
from __future__ import annotations

import argparse
import importlib
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


def _fmt_time(w, seconds):
    if seconds is None:
        return "-"
    if w.unit == "img/s":
        return f"{w.batch / seconds:.1f} img/s"
    return f"{seconds * 1e3:.2f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _fmt_mem(b):
    return "-" if b is None else f"{b / 2**20:.0f} MiB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="workloads to run (default: all)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--repeat", type=int, default=None, help="timed steps per workload")
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
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} threads; python {platform.python_version()}; "
          f"nanotorch {nanotorch.__version__}; torch {getattr(torch, '__version__', 'absent')}")
    print(f"# import nanotorch: {import_s:.2f} s")
    header = ["workload", "nanotorch", "torch", "ratio (nt/torch time)"]
    if args.memory:
        header += ["nt peak mem", "torch peak mem"]
    rows = [header]
    for name in names:
        w = WORKLOADS[name]
        repeat = args.repeat or w.repeat
        results = {}
        for lib in [nanotorch] + ([torch] if torch is not None else []):
            try:
                step = w.make(lib)
                results[lib.__name__] = harness.median_time(step, warmup=2, repeat=repeat)
            except Exception as e:  # a missing feature must not hide the other numbers
                print(f"# {name} failed in {lib.__name__}: {type(e).__name__}: {e}",
                      file=sys.stderr)
                results[lib.__name__] = None
            harness.collect()
        nt, th = results.get("nanotorch"), results.get("torch")
        ratio = f"{nt / th:.2f}" if nt and th else "-"
        row = [name, _fmt_time(w, nt), _fmt_time(w, th), ratio]
        if args.memory:
            row += [_fmt_mem(harness.measure_peak_memory(name, "nanotorch")),
                    _fmt_mem(harness.measure_peak_memory(name, "torch")) if torch else "-"]
        rows.append(row)
        print("  ".join(str(c) for c in row), flush=True)
    print()
    _print_markdown(rows)


def _print_markdown(rows):
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for r in rows[1:]:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
