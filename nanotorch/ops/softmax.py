"""softmax and log_softmax along one dim (fused Numba kernels; the backward falls back
to tensor formulas when a differentiable gradient is needed)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import softmax as K


def _kernel(fn, *args):
    """``fn(*args)``; float16 arrays go through the float32 kernel and the result is rounded
    back, as PyTorch's CPU computes half softmax."""
    if args[0].dtype != np.float16:
        return fn(*args)
    return fn(*(a.astype(np.float32) if isinstance(a, np.ndarray) else a
                for a in args)).astype(np.float16)


class Softmax(Op):
    def forward(self, a, axis):
        self.axis = axis
        self.save_output()
        return _kernel(K.softmax_forward, a, axis)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():  # create_graph: keep the formula differentiable
            return y * (g - (g * y).sum(dim=self.axis, keepdim=True))
        return type(g)._wrap(_kernel(K.softmax_backward, g._array, y._array, self.axis))


class LogSoftmax(Op):
    def forward(self, a, axis):
        self.axis = axis
        self.save_output()
        return _kernel(K.log_softmax_forward, a, axis)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():
            return g - y.exp() * g.sum(dim=self.axis, keepdim=True)
        return type(g)._wrap(_kernel(K.log_softmax_backward, g._array, y._array, self.axis))
