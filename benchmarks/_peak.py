"""``python -m benchmarks._peak FILE MODULE ARGS...`` runs ``python -m MODULE ARGS...`` in
this process and, at exit, writes its peak resident memory (VmHWM, bytes) to FILE.

A parent cannot take this from ``wait4``: Linux counts in a child's ``ru_maxrss`` the memory
of the parent that the child shared between fork and exec, so a large benchmark process
would lend every child its own size."""
from __future__ import annotations

import atexit
import runpy
import sys

from benchmarks.harness import peak_rss_bytes


def _write_peak(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(peak_rss_bytes()))


def main() -> None:
    path, module, *args = sys.argv[1:]
    atexit.register(_write_peak, path)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
