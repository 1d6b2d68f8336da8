"""Let glibc's malloc keep freed memory for reuse.

A training step allocates and frees activations of a few megabytes each. glibc hands
blocks above a moving threshold to fresh mmap() regions and gives free memory at
the top of the heap back to the system, so each step touches new pages and pays a
page fault per 4 KiB (costly in a VM: measured 10 ms of a 45 ms CNN step, 15% of a
resnet18 step). Fixing the thresholds keeps such blocks in the heap for reuse.

Opt out with NANOTORCH_MALLOC_TUNING=0; MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_
set in the environment win, as glibc reads them at start-up."""
from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20   # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 128 << 20  # free memory kept at the heap's top before it is returned


def tune() -> bool:
    """Apply the thresholds; True when glibc took them."""
    if not sys.platform.startswith("linux") or os.environ.get("NANOTORCH_MALLOC_TUNING") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
