"""2-D convolution: one op over the im2col / depthwise kernels in ``kernels/conv.py``."""
from __future__ import annotations

from ..autograd.function import Op, _wrap
from ..kernels.conv import conv2d_backward, conv2d_forward


class Conv2d(Op, backward_name="ConvolutionBackward0"):
    once_differentiable = True

    def forward(self, x, w, b, stride, padding, dilation, groups):
        self.save_inputs(0, 1)
        self.args = (stride, padding, dilation, groups)
        return conv2d_forward(x, w, b, stride, padding, dilation, groups)

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw, gb = conv2d_backward(x._array, w._array, g._array, *self.args,
                                     need_input=need_x, need_weight=need_w, need_bias=need_b)
        return tuple(None if a is None else _wrap(a) for a in (gx, gw, gb))
