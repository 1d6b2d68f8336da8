"""Dropout: the op (input times a scaled keep-mask) and the mask drawing."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..random import bernoulli_mask


class Dropout(Op, backward_name="MulBackward0"):
    """``x * mask``; the same (broadcastable) mask scales the gradient."""

    def forward(self, x, mask):
        self.mask = mask
        return np.multiply(x, mask)

    def backward(self, g):
        return g * _wrap(self.mask)

    def _release_extra(self):
        self.mask = None


def keep_mask(shape, p, dtype):
    """Keep-mask with probability ``1 - p``, scaled by ``1 / (1 - p)``: the values PyTorch's
    ``F.dropout`` draws from the same generator state."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    if dtype in (np.float32, np.float64):
        return bernoulli_mask(shape, 1.0 - p, dtype)
    return bernoulli_mask(shape, 1.0 - p, np.float32).astype(dtype)
