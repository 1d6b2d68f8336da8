"""Embedding lookup and its adjoint (the scatter-add of the gradient rows)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap


def _row_scale(indices, num_weights, padding_idx, scale_grad_by_freq, dtype):
    """Per-lookup gradient factor (0 for padding_idx, 1/count with scale_grad_by_freq),
    or None when every factor is 1."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    flat = indices.reshape(-1)
    f = np.ones(flat.shape, dtype=dtype)
    if scale_grad_by_freq:
        f /= np.bincount(flat, minlength=num_weights)[flat].astype(dtype)
    if padding_idx is not None:
        f[flat == padding_idx] = 0
    return f.reshape(indices.shape + (1,))


class Embedding(Op, backward_name="EmbeddingBackward0"):
    """``weight[indices]``; the gradient is scattered back by ``EmbeddingScatter``."""

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.indices = indices
        self.args = (weight.shape[0], padding_idx, scale_grad_by_freq)
        return np.take(weight, indices, axis=0)

    def backward(self, g):
        n, padding_idx, freq = self.args
        return EmbeddingScatter.apply(g, indices=self.indices, num_weights=n,
                                       padding_idx=padding_idx, scale_grad_by_freq=freq)

    def _release_extra(self):
        self.indices = None


class EmbeddingScatter(Op, backward_name="EmbeddingDenseBackward0"):
    """Sum the rows of ``g`` into a ``(num_weights, dim)`` gradient (the adjoint of the
    lookup, padding rows excluded)."""

    def forward(self, g, indices, num_weights, padding_idx, scale_grad_by_freq):
        self.indices = indices
        self.args = (padding_idx, scale_grad_by_freq)
        dim = g.shape[-1]
        g2 = g.reshape(-1, dim)
        scale = _row_scale(indices, num_weights, padding_idx, scale_grad_by_freq, g.dtype)
        if scale is not None:
            g2 = g2 * scale.reshape(-1, 1)
        out = np.zeros((num_weights, dim), dtype=g.dtype)
        np.add.at(out, indices.reshape(-1), g2)
        self.num_weights = num_weights
        return out

    def backward(self, gg):
        padding_idx, freq = self.args
        rows = Embedding.apply(gg, indices=self.indices, padding_idx=padding_idx,
                                scale_grad_by_freq=freq)
        scale = _row_scale(self.indices, self.num_weights, padding_idx, freq, gg._array.dtype)
        return rows if scale is None else rows * _wrap(scale)

    def _release_extra(self):
        self.indices = None
