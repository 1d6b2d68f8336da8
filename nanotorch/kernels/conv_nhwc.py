"""Inference convolutions in channels-last (NHWC) layout with the bias and an activation
applied in the output pass (for BatchNorm folded into the conv, see nn/_fusion.py).

Channels-last turns a 1x1 convolution into one GEMM over all pixels, im2col into copies
of contiguous channel runs and depthwise taps into loops along the channels, which
LLVM vectorises; NCHW needs a transpose around every GEMM and, at small spatial sizes,
runs GEMMs and depthwise rows too short to be efficient.

Arrays come in and go out with NCHW shape: the output is an NHWC buffer seen through
``transpose(0, 3, 1, 2)``, so a chain of these convolutions never copies a layout.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._workers import (
    WorkQueue,
    even_bands,
    run_split,
    single_threaded_blas,
    worker_count,
    workspace,
)

__all__ = ["ACTIVATIONS", "prepare_weight", "conv2d_nhwc", "max_pool2d_nhwc"]

# activation codes of the output pass
ACTIVATIONS = {None: 0, "relu": 1, "relu6": 2, "hardswish": 3, "silu": 4}

# rows (output pixels) per work item: about _ROW_BYTES of columns, and at least
# _GEMM_ROWS where there are enough (BLAS repacks the weight for every call: short
# GEMMs spend their time there; measured 2x slower at 113 rows than at 900 on resnet18)
_ROW_BYTES = 1 << 21
_GEMM_ROWS = 256
_MIN_ROWS = 32
# outputs per thread of a depthwise conv, at least
_MIN_DW_WORK = 1 << 15


@njit(inline="always")
def _act(v, act, k):
    """Activation ``act`` of v; k holds (0, 3, 6, 1/6, 1) in v's dtype, so float32 math
    stays float32 (and vectorises twice as wide)."""
    if act == 1:
        return max(v, k[0])
    if act == 2:
        return min(max(v, k[0]), k[2])
    if act == 3:
        return v * min(max(v + k[1], k[0]), k[2]) * k[3]
    if act == 4:
        return v / (k[4] + np.exp(-v))
    return v


def _consts(dtype):
    return np.array([0.0, 3.0, 6.0, 1.0 / 6.0, 1.0], dtype=dtype)


@njit(cache=True, nogil=True, error_model="numpy")
def _bias_act(y, b, res, act, k):
    """y (rows, O) = act(y + b [+ res]) in place; res (rows, O), or (0, O) for none."""
    rows, o = y.shape
    if res.shape[0] == 0:
        for r in range(rows):
            for c in range(o):
                y[r, c] = _act(y[r, c] + b[c], act, k)
    else:
        for r in range(rows):
            for c in range(o):
                y[r, c] = _act(y[r, c] + b[c] + res[r, c], act, k)


@njit(cache=True, nogil=True)
def _im2col(x, geo, r0, r1, cols):
    """Rows r0:r1 (flat output pixels n, oh, ow) of the NHWC columns: cols[r - r0] =
    (KH, KW, C) window of x (N, H, W, C), zeros outside the input."""
    KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    for r in range(r0, r1):
        n = r // (OH * OW)
        p = r - n * OH * OW
        oh = p // OW
        ow = p - oh * OW
        row = cols[r - r0]
        for i in range(KH):
            h = oh * sh - ph + i * dh
            for j in range(KW):
                w = ow * sw - pw + j * dw
                base = (i * KW + j) * C
                if h < 0 or h >= H or w < 0 or w >= W:
                    for c in range(C):
                        row[base + c] = 0.0
                else:
                    src = x[n, h, w]
                    for c in range(C):
                        row[base + c] = src[c]


@njit(cache=True, nogil=True, error_model="numpy")
def _depthwise(x, wd, b, res, geo, act, k, y, t0, t1):
    """Depthwise conv of x (N, H, W, C) with wd (KH, KW, C) into y (N, OH, OW, C), plus
    b and res (like y, or (0, 1, 1, 1) for none), then the activation; output rows
    t0:t1 of the N*OH."""
    KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    N, H, W, C = x.shape
    for t in range(t0, t1):
        n = t // OH
        oh = t - n * OH
        for ow in range(OW):
            out = y[n, oh, ow]
            for c in range(C):
                out[c] = b[c]
            for i in range(KH):
                h = oh * sh - ph + i * dh
                if h < 0 or h >= H:
                    continue
                for j in range(KW):
                    w = ow * sw - pw + j * dw
                    if w < 0 or w >= W:
                        continue
                    src = x[n, h, w]
                    tap = wd[i, j]
                    for c in range(C):
                        out[c] += tap[c] * src[c]
            if res.shape[0] != 0:
                r = res[n, oh, ow]
                for c in range(C):
                    out[c] += r[c]
            for c in range(C):
                out[c] = _act(out[c], act, k)


def prepare_weight(w, depthwise):
    """The weight (O, C/groups, KH, KW) as the kernels read it: (KH, KW, C) for a
    depthwise conv, else the GEMM operand (KH*KW*C, O)."""
    O, Cg, KH, KW = w.shape
    if depthwise:
        return np.ascontiguousarray(w[:, 0].transpose(1, 2, 0))
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(KH * KW * Cg, O))


def _nhwc(x):
    """x (N, C, H, W) as a contiguous (N, H, W, C) array (a view when x is one)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def conv2d_nhwc(x, wp, b, kernel_size, stride, padding, dilation, depthwise, act,
                residual=None):
    """act(conv2d(x, w) + b [+ residual]) for x (N, C, H, W), ``wp`` from
    prepare_weight, b (O,), residual shaped as the output: an (N, O, OH, OW) array laid
    out NHWC in memory. groups must be 1 or C (``depthwise``, one output channel per
    input channel)."""
    N, C, H, W = x.shape
    KH, KW = kernel_size
    OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    geo = (KH, KW, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1],
           OH, OW)
    code = ACTIVATIONS[act]
    xh = _nhwc(x)
    O = C if depthwise else wp.shape[1]
    if residual is None:
        rh = np.empty((0, 1, 1, 1), dtype=x.dtype)
    else:
        if residual.shape != (N, O, OH, OW):
            raise ValueError(f"conv2d_nhwc: residual {residual.shape} does not match the "
                             f"output {(N, O, OH, OW)}")
        rh = _nhwc(residual.astype(x.dtype, copy=False))
    if depthwise:
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        bands = even_bands(N * OH, worker_count(N * OH * OW * C // _MIN_DW_WORK))
        consts = _consts(x.dtype)
        run_split(lambda k, n: _depthwise(xh, wp, b, rh, geo, code, consts, y, *bands[k]),
                  len(bands))
        return y.transpose(0, 3, 1, 2)
    y = np.empty((N, OH, OW, O), dtype=x.dtype)
    M, K = N * OH * OW, wp.shape[0]
    r2 = rh.reshape(-1, O) if residual is not None else np.empty((0, O), dtype=x.dtype)
    y2 = y.reshape(M, O)
    direct = KH == KW == 1 and padding == (0, 0)
    if direct and stride != (1, 1):
        xh = np.ascontiguousarray(xh[:, ::stride[0], ::stride[1]])
    x2 = xh.reshape(M, K) if direct else None
    workers = worker_count(M // _MIN_ROWS)
    step = max(_MIN_ROWS, min(max(_GEMM_ROWS, _ROW_BYTES // (x.itemsize * max(K, O))),
                              -(-M // workers)))
    items = [(r, min(M, r + step)) for r in range(0, M, step)]
    queue = WorkQueue(len(items))
    consts = _consts(x.dtype)

    def task(k, n):
        for r0, r1 in (items[i] for i in queue):
            if direct:
                a = x2[r0:r1]
            else:
                a = workspace("nhwc_cols", (r1 - r0) * K, x.dtype).reshape(r1 - r0, K)
                _im2col(xh, geo, r0, r1, a)
            np.matmul(a, wp, out=y2[r0:r1])
            _bias_act(y2[r0:r1], b, r2[r0:r1], code, consts)

    with single_threaded_blas():  # also for one worker: see kernels/gemm.py
        run_split(task, min(workers, len(items)))
    return y.transpose(0, 3, 1, 2)


@njit(cache=True, nogil=True)
def _max_pool(x, geo, y, t0, t1):
    """Max pooling of x (N, H, W, C) into y (N, OH, OW, C), output rows t0:t1 of the
    N*OH; out-of-bounds taps are skipped (-inf padding), NaN propagates."""
    KH, KW, sh, sw, ph, pw, OH, OW = geo
    N, H, W, C = x.shape
    for t in range(t0, t1):
        n = t // OH
        oh = t - n * OH
        for ow in range(OW):
            out = y[n, oh, ow]
            first = True
            for i in range(KH):
                h = oh * sh - ph + i
                if h < 0 or h >= H:
                    continue
                for j in range(KW):
                    w = ow * sw - pw + j
                    if w < 0 or w >= W:
                        continue
                    src = x[n, h, w]
                    if first:
                        for c in range(C):
                            out[c] = src[c]
                        first = False
                    else:
                        for c in range(C):
                            v = src[c]
                            if v > out[c] or v != v:
                                out[c] = v


def max_pool2d_nhwc(x, kernel_size, stride, padding):
    """max_pool2d (no dilation, floor mode) of x (N, C, H, W) laid out NHWC in memory;
    the output likewise. Every window must hold an input cell (padding <= kernel / 2)."""
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH, OW = (H + 2 * ph - KH) // sh + 1, (W + 2 * pw - KW) // sw + 1
    xh = _nhwc(x)
    y = np.empty((N, OH, OW, C), dtype=x.dtype)
    bands = even_bands(N * OH, worker_count(N * OH * OW * C // _MIN_DW_WORK))
    geo = (KH, KW, sh, sw, ph, pw, OH, OW)
    run_split(lambda k, n: _max_pool(xh, geo, y, *bands[k]), len(bands))
    return y.transpose(0, 3, 1, 2)
