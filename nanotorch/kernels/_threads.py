"""When a Numba kernel runs on several threads, and in what slices.

The two thresholds are the one place that decides between one thread and the
pool; below them the thread hand-off costs more than it saves (and on a busy
machine a parallel region can stall waiting for a descheduled thread).
"""
from __future__ import annotations

import types

from numba import njit

# Kernels that do real work per element (exp, reductions over lines: softmax,
# losses, norms): parallel from this many elements touched.
PARALLEL_MIN = 1 << 14
# Streaming kernels that do about one multiply-add per element loaded
# (activation backwards, ReLU, optimizer updates) need more elements to pay for
# the hand-off: measured on 2 cores, parallel wins from ~5e4 elements.
PARALLEL_MIN_STREAMING = 1 << 16
# Elements per slice when a streaming kernel is split across threads.
CHUNK = 1 << 14
# Lines handled side by side (one work item) when a kernel reduces an axis that
# is not the last: its inner loops then run along the contiguous last axis.
BLOCK = 256


_serial: dict = {}


def serial(kernel):
    """``kernel`` (a ``parallel=True`` dispatcher) compiled without ``parallel``: its
    prange loops run as plain loops. Made on first use, so a kernel that only ever
    sees small inputs never compiles its parfors (they compile several times slower).
    The copy has its own qualified name, hence its own cache files."""
    twin = _serial.get(kernel)
    if twin is None:
        f = kernel.py_func
        copy = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                                  f.__closure__)
        copy.__qualname__ = f.__qualname__ + "__serial"
        copy.__module__, copy.__doc__ = f.__module__, f.__doc__
        opts = {k: v for k, v in kernel.targetoptions.items() if k not in ("nopython", "parallel")}
        twin = _serial.setdefault(kernel, njit(**opts, parallel=False, cache=True)(copy))
    return twin


def launch(kernel, work, *args):
    """Call a parallel kernel, or its serial() twin when ``work`` (elements touched) is
    below PARALLEL_MIN."""
    return (kernel if work >= PARALLEL_MIN else serial(kernel))(*args)


@njit(inline="always")
def block_count(length):
    """Blocks of BLOCK positions that cover ``length``."""
    return (length + BLOCK - 1) // BLOCK


@njit(inline="always")
def block_of(item, nblocks, length):
    """(row, lo, hi) of work item ``item`` when each row's ``length`` positions
    are cut into ``nblocks`` blocks of BLOCK."""
    row = item // nblocks
    lo = (item - row * nblocks) * BLOCK
    return row, lo, min(length, lo + BLOCK)
