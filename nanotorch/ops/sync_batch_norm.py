"""Batch norm whose statistics span all ranks (``SyncBatchNorm`` in training). Per-channel
sums go through ``all_sum`` (an all-reduce supplied by the caller) in float64: once for
count, sum and sum of squares in forward, once for the two gradient sums in backward."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _channel_sums(a, b=None):
    """Per-channel sums of ``a`` (and of ``a * b``) over every axis but 1, in float64."""
    axes = (0,) + tuple(range(2, a.ndim))
    a64 = a.astype(np.float64)
    first = a64.sum(axes)
    return first if b is None else (first, (a64 * b).sum(axes))


class SyncBatchNorm(Op, backward_name="SyncBatchNormBackward"):
    once_differentiable = True

    def forward(self, x, w, b, eps, stats, all_sum):
        c = x.shape[1]
        total, total_sq = _channel_sums(x, x)
        totals = all_sum(np.concatenate([[x.size // c], total, total_sq]))
        n = totals[0]
        mean = totals[1:c + 1] / n
        var = np.maximum(totals[c + 1:] / n - mean * mean, 0.0)
        invstd = 1.0 / np.sqrt(var + eps)
        shape = _channel_shape(x)
        xhat = (x - mean.astype(x.dtype).reshape(shape)) * invstd.astype(x.dtype).reshape(shape)
        y = xhat if w is None else xhat * w.reshape(shape)
        if b is not None:
            y = y + b.reshape(shape)
        self.xhat, self.invstd, self.count, self.all_sum = xhat, invstd, n, all_sum
        stats.extend((mean, var, int(n)))
        self.save_inputs(1)
        return y.astype(x.dtype, copy=False)

    def backward(self, grad):
        (w,) = self.saved_tensors
        g, xhat = grad._array, self.xhat
        need_x, need_w, need_b = self.needs_input_grad
        c, shape, dtype = g.shape[1], _channel_shape(g), xhat.dtype
        sum_dy, sum_dy_xhat = _channel_sums(g, xhat)
        gx = None
        if need_x:
            totals = self.all_sum(np.concatenate([sum_dy, sum_dy_xhat])) / self.count
            scale = self.invstd if w is None else self.invstd * w._array
            gx = ((g - totals[:c].astype(dtype).reshape(shape)
                   - xhat * totals[c:].astype(dtype).reshape(shape))
                  * scale.astype(dtype).reshape(shape))
        gw = sum_dy_xhat.astype(dtype) if need_w else None
        gb = sum_dy.astype(dtype) if need_b else None
        return tuple(None if a is None else _wrap(a) for a in (gx, gw, gb))

    def _release_extra(self):
        self.xhat = self.invstd = self.all_sum = None
