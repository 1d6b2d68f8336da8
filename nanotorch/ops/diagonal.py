"""Diagonals: read one (``diagonal``) and write one into zeros (``diag_embed``); each is
the other's gradient."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


def _diagonal_view(a, offset, dim1, dim2):
    """A writable view ``(..., n)`` of ``a``'s diagonal in the plane ``(dim1, dim2)``."""
    plane = np.moveaxis(a, (dim1, dim2), (-2, -1))
    rows, cols = plane.shape[-2:]
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = np.arange(n)
    return plane, (Ellipsis, i + max(-offset, 0), i + max(offset, 0))


class Diagonal(Op):
    def forward(self, a, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = a.shape, offset, dim1, dim2
        plane, key = _diagonal_view(a, offset, dim1, dim2)
        return plane[key]

    def backward(self, g):
        return DiagEmbed.apply(g, shape=self.shape, offset=self.offset, dim1=self.dim1,
                               dim2=self.dim2)


class DiagEmbed(Op):
    """zeros(``shape``) with ``a`` (shape ``(..., n)``) on the diagonal ``offset`` of the
    plane ``(dim1, dim2)``."""

    def forward(self, a, shape, offset, dim1, dim2):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2
        out = np.zeros(shape, dtype=a.dtype)
        plane, key = _diagonal_view(out, offset, dim1, dim2)
        plane[key] = a
        return out

    def backward(self, g):
        return Diagonal.apply(g, offset=self.offset, dim1=self.dim1, dim2=self.dim2)


class DiagEmbedVector(DiagEmbed, backward_name="DiagEmbedBackward0"):
    pass
