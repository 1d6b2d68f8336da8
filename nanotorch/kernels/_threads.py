"""Launching parallel Numba kernels: small jobs run on one thread."""
from __future__ import annotations

from numba import get_num_threads, set_num_threads

PARALLEL_MIN = 1 << 14


def launch(kernel, work, *args):
    """Call a parallel kernel, on one thread when ``work`` (elements touched) is
    small: there the thread hand-off costs more than it saves, and on a busy
    machine a parallel region can stall waiting for a descheduled thread."""
    if work >= PARALLEL_MIN:
        return kernel(*args)
    prev = get_num_threads()
    set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        set_num_threads(prev)
