"""Start-up time: ``import nanotorch`` plus the first W1 training step, with an empty Numba
cache (cold: kernels compile) and with a filled one (warm). Each run is a fresh process.

    python -m benchmarks.startup
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_CODE = r"""
import time
t0 = time.perf_counter()
import nanotorch as torch
t1 = time.perf_counter()
from benchmarks.workloads import make_w1
step = make_w1(torch)
step()
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t0:.3f}")
"""


def run_once(cache_dir: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _CODE], env=env, cwd=root, check=True,
                         capture_output=True, text=True)
    imp, total = out.stdout.split()
    return float(imp), float(total)


def main():
    with tempfile.TemporaryDirectory() as cache:
        cold = run_once(cache)
        warm = min(run_once(cache) for _ in range(3))
    for label, (imp, total) in (("cold (empty Numba cache):", cold),
                                ("warm (cached kernels):", warm)):
        print(f"{label:26s}import {imp:.2f} s, import + first W1 step {total:.2f} s")


if __name__ == "__main__":
    main()
