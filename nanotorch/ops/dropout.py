"""Dropout: the op (input times a scaled keep-mask) and the mask drawing."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..random import rng


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
    """Keep-mask with probability ``1 - p``, scaled by ``1 / (1 - p)``."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float32
    u = rng().random(shape, dtype=draw_dtype)
    mask = np.less(u, 1.0 - p).astype(dtype)
    mask *= np.asarray(1.0 / (1.0 - p), dtype=dtype)
    return mask
