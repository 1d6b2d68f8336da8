"""Start-up time: ``import nanotorch`` plus the first W1 training step, with an empty Numba
cache (cold: kernels compile) and with a filled one (warm). Each run is a fresh process.

    python -m benchmarks.startup

The cold run is also the ``cold_start`` row of ``python -m benchmarks.run`` (against
``import torch`` plus the same step), through cold_start().
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_CODE = r"""
import importlib, sys, time
t0 = time.perf_counter()
lib = importlib.import_module(sys.argv[1])
t1 = time.perf_counter()
from benchmarks.workloads import make_w1
step = make_w1(lib)
step()
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t0:.3f}")
"""


def run_once(cache_dir: str, lib: str = "nanotorch") -> tuple[float, float]:
    """(import seconds, import + first W1 step seconds) in a fresh process whose Numba
    cache is ``cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _CODE, lib], env=env, cwd=root, check=True,
                         capture_output=True, text=True)
    imp, total = out.stdout.split()
    return float(imp), float(total)


def cold_start(lib: str = "nanotorch") -> dict:
    """One fresh process with an empty Numba cache: {"import_s", "first_step_s"}
    (the latter counts the import too)."""
    with tempfile.TemporaryDirectory() as cache:
        imp, total = run_once(cache, lib)
    return {"import_s": imp, "first_step_s": total}


def main():
    with tempfile.TemporaryDirectory() as cache:
        cold = run_once(cache)
        warm = min(run_once(cache) for _ in range(3))
    for label, (imp, total) in (("cold (empty Numba cache):", cold),
                                ("warm (cached kernels):", warm)):
        print(f"{label:26s}import {imp:.2f} s, import + first W1 step {total:.2f} s")


if __name__ == "__main__":
    main()
