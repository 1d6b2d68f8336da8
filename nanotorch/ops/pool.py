"""2-D max / average / adaptive average / adaptive max pooling over the kernels in
``kernels/pool.py`` (4-D inputs; the functional layer adds and removes the batch dim)."""
from __future__ import annotations

from ..autograd.function import Op, _wrap
from ..kernels.pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)


class MaxPool2d(Op, backward_name="MaxPool2DWithIndicesBackward0"):
    once_differentiable = True

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode, sink):
        # indices only when backward or the caller needs them (inference skips them)
        y, idx = max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode,
                                    with_indices=self._recording or sink is not None)
        self.indices = idx
        self.input_shape = x.shape
        if sink is not None:
            sink.append(idx)
        return y

    def backward(self, g):
        return _wrap(max_pool2d_backward(g._array, self.indices, self.input_shape))

    def _release_extra(self):
        self.indices = None


class AvgPool2d(Op, backward_name="AvgPool2DBackward0"):
    once_differentiable = True

    def forward(self, x, params):
        self.input_shape = x.shape
        self.params = params
        return avg_pool2d_forward(x, *params)

    def backward(self, g):
        return _wrap(avg_pool2d_backward(g._array, self.input_shape, *self.params))


class AdaptiveAvgPool2d(Op, backward_name="AdaptiveAvgPool2DBackward0"):
    once_differentiable = True

    def forward(self, x, output_size):
        self.input_shape = x.shape
        return adaptive_avg_pool2d_forward(x, output_size)

    def backward(self, g):
        return _wrap(adaptive_avg_pool2d_backward(g._array, self.input_shape))


class AdaptiveMaxPool2d(Op, backward_name="AdaptiveMaxPool2DBackward0"):
    once_differentiable = True

    def forward(self, x, output_size, sink):
        y, self.indices = adaptive_max_pool2d_forward(x, output_size)
        self.input_shape = x.shape
        if sink is not None:
            sink.append(self.indices)
        return y

    def backward(self, g):
        return _wrap(max_pool2d_backward(g._array, self.indices, self.input_shape))

    def _release_extra(self):
        self.indices = None
