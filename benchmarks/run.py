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
    if w.unit == "s":
        return f"{seconds:.1f} s"
    return f"{seconds * 1e3:.2f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _fmt_mem(b):
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
    with_notes = any(WORKLOADS[n].note for n in names)
    if with_notes:
        header.append("notes")
    rows = [header]
    for name in names:
        w = WORKLOADS[name]
        results, notes = {}, []
        for lib in [nanotorch] + ([torch] if torch is not None else []):
            results[lib.__name__], note = _time(w, lib, args.repeat)
            if note:
                notes.append(f"{'nt' if lib is nanotorch else 'torch'}: {note}")
            harness.collect()
        nt, th = results.get("nanotorch"), results.get("torch")
        ratio = f"{nt / th:.2f}" if nt and th else "-"
        row = [name, _fmt_time(w, nt), _fmt_time(w, th), ratio]
        if args.memory:
            row += [_fmt_mem(harness.measure_peak_memory(name, "nanotorch")),
                    _fmt_mem(harness.measure_peak_memory(name, "torch")) if torch else "-"]
        if with_notes:
            row.append("; ".join(notes) or "-")
        rows.append(row)
        print("  ".join(str(c) for c in row), flush=True)
    print()
    _print_markdown(rows)


def _time(w, lib, repeat):
    """(seconds or None, note or None) for one workload in one library."""
    try:
        step = w.make(lib)
        if w.oneshot:
            seconds, result = harness.time_once(step)
        else:
            seconds, result = harness.median_time(step, warmup=2, repeat=repeat or w.repeat), None
        return seconds, (w.note(result) if w.note and result is not None else None)
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
