"""When a Numba kernel runs on several threads, and in what slices.

The two thresholds are the one place that decides between one thread and the
pool; below them the thread hand-off costs more than it saves (and on a busy
machine a parallel region can stall waiting for a descheduled thread).
"""
from __future__ import annotations

import os
import types
from concurrent.futures import ThreadPoolExecutor, wait

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
# Calls with a large input before a parallel kernel is compiled (see hot()); 0:
# at once, on the calling thread (the tests: they check the parallel forms).
HOT_CALLS = 16
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


_calls: dict = {}
_pending: dict = {}
_ready: set = set()
_compiler: ThreadPoolExecutor | None = None


def hot(kernel, fallback, args):
    """``kernel`` (parallel) if it is compiled, else ``fallback`` (the same work on
    one thread). A kernel is compiled, or loaded from the cache, in a background
    thread once HOT_CALLS calls have asked for it: a short process (a first step,
    a test) never pays for parfors, which compile several times slower than plain
    loops; a training loop switches over after a few steps."""
    if kernel in _ready or HOT_CALLS == 0:
        return kernel
    global _compiler
    future = _pending.get(kernel)
    if future is None:
        n = _calls[kernel] = _calls.get(kernel, 0) + 1
        if n < HOT_CALLS:
            return fallback
        if _compiler is None:
            _compiler = ThreadPoolExecutor(1, thread_name_prefix="nanotorch-compile")
        sig = tuple(kernel.typeof_pyval(a) for a in args)
        future = _pending.setdefault(kernel, _compiler.submit(kernel.compile, sig))
    if not future.done():
        return fallback
    _ready.add(kernel)   # a failed compile raises at the next call, in the caller
    return kernel


def _finish_compiles() -> None:
    """Before a fork: let background compiles end, so that the child does not inherit
    Numba's compiler lock held by a thread it does not have (its first compile would
    hang: DataLoader workers fork)."""
    wait(list(_pending.values()))


os.register_at_fork(before=_finish_compiles)


def launch(kernel, work, *args):
    """Call a parallel kernel on ``args`` when ``work`` (elements touched) reaches
    PARALLEL_MIN and the kernel is hot(); otherwise its serial() twin."""
    if work >= PARALLEL_MIN:
        return hot(kernel, serial(kernel), args)(*args)
    return serial(kernel)(*args)


def launch_streaming(kernel, fallback, n, *args):
    """Call a streaming kernel on ``n`` elements: ``kernel`` (parallel) when ``n``
    reaches PARALLEL_MIN_STREAMING and it is hot(), else ``fallback`` (its form on
    one thread)."""
    if n >= PARALLEL_MIN_STREAMING:
        return hot(kernel, fallback, args)(*args)
    return fallback(*args)


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
