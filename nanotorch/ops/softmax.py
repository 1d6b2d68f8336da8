"""softmax and log_softmax along one dim."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


def _shifted(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return a - np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)


class Softmax(Op):
    def forward(self, a, axis):
        self.axis = axis
        e = np.exp(_shifted(a, axis))
        e /= np.sum(e, axis=axis, keepdims=True)
        self.save_output()
        return e

    def backward(self, g):
        (y,) = self.saved_tensors
        return y * (g - (g * y).sum(dim=self.axis, keepdim=True))


class LogSoftmax(Op):
    def forward(self, a, axis):
        self.axis = axis
        s = _shifted(a, axis)
        s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
        self.save_output()
        return s

    def backward(self, g):
        (y,) = self.saved_tensors
        return g - y.exp() * g.sum(dim=self.axis, keepdim=True)
