"""Group norm: one op around ``group_norm_forward`` / ``group_norm_backward`` in
``kernels/norm.py``."""
from __future__ import annotations

from ..autograd.function import Op, _wrap
from ..kernels import norm as K


class GroupNorm(Op, backward_name="NativeGroupNormBackward0"):
    once_differentiable = True

    def forward(self, x, w, b, groups, eps):
        y, self.mean, self.invstd = K.group_norm_forward(x, groups, w, b, eps)
        self.groups = groups
        self.save_inputs(0, 1)
        return y

    def backward(self, g):
        x, w = self.saved_tensors
        grads = K.group_norm_backward(g._array, x._array, self.mean, self.invstd,
                                      None if w is None else w._array, self.groups,
                                      *self.needs_input_grad)
        return tuple(None if a is None else _wrap(a) for a in grads)

    def _release_extra(self):
        self.mean = self.invstd = None
