"""``interpolate``'s nearest / nearest-exact / linear / bilinear / bicubic modes: one op per
PyTorch node name over the separable kernels in ``kernels/resample.py``."""
from __future__ import annotations

from ..autograd.function import Op, _wrap
from ..kernels.resample import resample_backward, resample_forward


class _Resample(Op):
    """Resize the trailing axes by per-axis (idx, wts) tables."""

    once_differentiable = True

    def forward(self, x, tables):
        self.tables, self.input_shape = tables, x.shape
        return resample_forward(x, tables)

    def backward(self, g):
        return _wrap(resample_backward(g._array, self.tables, self.input_shape))

    def _release_extra(self):
        self.tables = None


class UpsampleNearest1d(_Resample, backward_name="UpsampleNearest1DBackward0"):
    pass


class UpsampleNearest2d(_Resample, backward_name="UpsampleNearest2DBackward0"):
    pass


class UpsampleNearestExact1d(_Resample, backward_name="UpsampleNearestExact1DBackward0"):
    pass


class UpsampleNearestExact2d(_Resample, backward_name="UpsampleNearestExact2DBackward0"):
    pass


class UpsampleLinear1d(_Resample, backward_name="UpsampleLinear1DBackward0"):
    pass


class UpsampleBilinear2d(_Resample, backward_name="UpsampleBilinear2DBackward0"):
    pass


class UpsampleBicubic2d(_Resample, backward_name="UpsampleBicubic2DBackward0"):
    pass
