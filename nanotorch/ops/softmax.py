"""softmax and log_softmax along one dim (fused Numba kernels; the backward falls back
to tensor formulas when a differentiable gradient is needed)."""
from __future__ import annotations

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import softmax as K


class Softmax(Op):
    def forward(self, a, axis):
        self.axis = axis
        self.save_output()
        return K.softmax_forward(a, axis)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():  # create_graph: keep the formula differentiable
            return y * (g - (g * y).sum(dim=self.axis, keepdim=True))
        return type(g)._wrap(K.softmax_backward(g._array, y._array, self.axis))


class LogSoftmax(Op):
    def forward(self, a, axis):
        self.axis = axis
        self.save_output()
        return K.log_softmax_forward(a, axis)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():
            return g - y.exp() * g.sum(dim=self.axis, keepdim=True)
        return type(g)._wrap(K.log_softmax_backward(g._array, y._array, self.axis))
