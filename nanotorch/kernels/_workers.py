"""Splitting a kernel's work across threads that each call single-threaded BLAS.

A convolution alternates a memory-bound Numba loop (im2col) with a GEMM. Run on
one thread with a multi-threaded BLAS, the second core idles through every
im2col and the BLAS threads pay a wake-up per small GEMM. Giving each core its
own share of the samples (im2col + GEMM, BLAS held to one thread) keeps both
busy: measured 2-3x faster on the resnet18 convolutions.
"""
from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np
from numba import get_num_threads

_pool: ThreadPoolExecutor | None = None
_blas = None
_libs = None
_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved: list = []
_lock = threading.Lock()
_local = threading.local()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1),
                                       thread_name_prefix="nanotorch-kernel")
        return _pool


def blas_controller():
    """threadpoolctl's handle on the BLAS libraries this process has loaded."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController
        _blas = ThreadpoolController().select(user_api="blas")
    return _blas


def set_blas_threads(n: int) -> None:
    blas_controller().limit(limits=n)


def _blas_libs() -> list:
    global _libs
    if _libs is None:
        _libs = list(blas_controller().lib_controllers)
    return _libs


@contextmanager
def single_threaded_blas():
    """BLAS on one thread inside the block. Every BLAS call nanotorch makes runs so
    (the parallelism is ours): after a multi-threaded call OpenBLAS's threads spin
    for a while, and on a 2-core machine that starves the Numba kernels and worker
    threads that run next (measured: a ReLU 6x slower after a Linear backward).
    Blocks may overlap across threads: the first in sets one thread, the last out
    restores the setting. Direct calls on threadpoolctl's handles: ~1 us, against
    ~12 us for its limit()."""
    global _blas_users, _blas_saved
    with _blas_lock:
        if _blas_users == 0:
            libs = _blas_libs()
            _blas_saved = [lib.get_num_threads() for lib in libs]
            for lib, n in zip(libs, _blas_saved):
                if n != 1:
                    lib.set_num_threads(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for lib, n in zip(_blas_libs(), _blas_saved):
                    if n != 1:
                        lib.set_num_threads(n)


def worker_count(n_tasks: int) -> int:
    """Threads worth using for ``n_tasks`` independent pieces of work."""
    return max(1, min(get_num_threads(), n_tasks))


def run_split(task, n_workers: int) -> list:
    """Run ``task(k, n_workers)`` for k in range(n_workers) concurrently (the calling
    thread takes k=0) with BLAS single-threaded; return the results in order."""
    if n_workers <= 1:
        return [task(0, 1)]
    with single_threaded_blas():
        futures = [_executor().submit(task, k, n_workers) for k in range(1, n_workers)]
        try:
            first = task(0, n_workers)
        finally:  # never leave workers writing into buffers the caller may free
            wait(futures)
        return [first] + [f.result() for f in futures]


def even_bands(n: int, parts: int) -> list:
    """[(lo, hi), ...]: range(n) cut into ``parts`` consecutive bands whose sizes
    differ by at most one."""
    edges = [n * i // parts for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


class WorkQueue:
    """Indices 0..n-1 handed to whichever worker asks next (``for i in queue``): a
    worker slowed down by the OS simply takes fewer pieces."""

    def __init__(self, n: int):
        self._n = n
        self._next = itertools.count()  # next() on a count is atomic under the GIL

    def __iter__(self):
        while True:
            i = next(self._next)
            if i >= self._n:
                return
            yield i


def workspace(name: str, size: int, dtype) -> np.ndarray:
    """A 1-D scratch array of ``size`` elements owned by the calling thread, reused
    across calls (fresh multi-megabyte buffers cost more in page faults than the
    work written into them)."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    key = (name, np.dtype(dtype))
    buf = bufs.get(key)
    if buf is None or buf.size < size:
        buf = bufs[key] = np.empty(size, dtype=dtype)
    return buf[:size]
