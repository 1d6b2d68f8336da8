"""Matrix products through BLAS, on the threads that suit their size.

OpenBLAS's threads spin for a while after each multi-threaded call; on a 2-core
machine that starves the Numba kernels and worker threads that run next (measured:
a ReLU 6x slower right after a Linear backward, the W2 CNN step 1.7x slower). So
small and mid-sized products keep OpenBLAS's threads asleep: small ones run on one
thread, mid-sized ones are split by rows across worker threads that each run
single-threaded BLAS (see _workers.py). Only large products, where the spinning
costs little next to the product, use OpenBLAS's own threads."""
from __future__ import annotations

import numpy as np

from ._workers import even_bands, run_split, single_threaded_blas, worker_count

_MIN_ROWS = 16          # rows per worker, at least
_MIN_WORK = 1 << 20     # multiply-adds; below: one single-threaded BLAS call
_BIG_WORK = 1 << 25     # from here: OpenBLAS's own threads (measured faster on an MLP
                        # of 100M-multiply-add products; their spin-wait afterwards
                        # costs little next to such a product)


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``: small products on one thread, large ones on
    OpenBLAS's threads, those in between split across worker threads (2-D products
    by rows of ``a``, batched ones with equal batch shapes by batch)."""
    if a.ndim < 2 or b.ndim < 2 or a.shape[:-2] != b.shape[:-2] \
            or a.shape[-1] != b.shape[-2] or (out is not None and not out.flags.c_contiguous):
        return np.matmul(a, b, out=out)
    M, K, N = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = int(np.prod(a.shape[:-2], dtype=np.int64))
    work = batch * M * N * K
    if work < _MIN_WORK:
        with single_threaded_blas():
            return np.matmul(a, b, out=out)
    if work >= _BIG_WORK:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty(a.shape[:-1] + (N,), dtype=np.result_type(a, b))
    if batch >= 2:
        a3, b3, o3 = a.reshape(batch, M, K), b.reshape(batch, K, N), out.reshape(batch, M, N)
        bands = even_bands(batch, worker_count(batch))

        def task(k, step):
            lo, hi = bands[k]
            np.matmul(a3[lo:hi], b3[lo:hi], out=o3[lo:hi])
    else:
        a2, o2 = a.reshape(M, K), out.reshape(M, N)
        b2 = b.reshape(K, N)
        bands = even_bands(M, worker_count(M // _MIN_ROWS))

        def task(k, step):
            lo, hi = bands[k]
            np.matmul(a2[lo:hi], b2, out=o2[lo:hi])
    run_split(task, len(bands))
    return out
