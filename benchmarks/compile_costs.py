"""What each Numba kernel costs to compile on a workload's first step, with an empty
kernel cache (a fresh NUMBA_CACHE_DIR, in a fresh process).

    python -m benchmarks.compile_costs            # W1
    python -m benchmarks.compile_costs W2 W6

Per outermost compilation (the kernel a Python call site reached, helpers it pulled in
included): wall and CPU seconds. The CPU column is the steadier one on a busy machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_CODE = r"""
import json, sys, time
import nanotorch
from numba.core import event

rows, stack = [], []

class _Timer(event.Listener):
    def on_start(self, ev):
        stack.append((time.perf_counter(), time.process_time()))

    def on_end(self, ev):
        wall, cpu = stack.pop()
        if not stack:
            d = ev.data["dispatcher"]
            rows.append([f"{d.py_func.__module__}.{d.py_func.__qualname__}",
                         time.perf_counter() - wall, time.process_time() - cpu])

event.register("numba:compile", _Timer())
from benchmarks.workloads import WORKLOADS
t = time.perf_counter(), time.process_time()
step = WORKLOADS[sys.argv[1]].make(nanotorch)
step()
print(json.dumps({"rows": rows, "wall": time.perf_counter() - t[0],
                  "cpu": time.process_time() - t[1]}))
"""


def measure(workload: str) -> dict:
    """{"rows": [[kernel, wall s, cpu s], ...], "wall": s, "cpu": s} of make + first step."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _CODE, workload], env=env, cwd=root,
                             check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    for name in (argv if argv is not None else sys.argv[1:]) or ["W1"]:
        r = measure(name)
        print(f"# {name}: make + first step {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU")
        print(f"{'wall s':>7} {'cpu s':>7}  kernel")
        for kernel, wall, cpu in sorted(r["rows"], key=lambda row: -row[2]):
            print(f"{wall:7.2f} {cpu:7.2f}  {kernel}")
        total = sum(row[2] for row in r["rows"])
        print(f"{'':>7} {total:7.2f}  total compile CPU")


if __name__ == "__main__":
    main()
