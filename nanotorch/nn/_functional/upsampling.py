"""``F.interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, area) for 3-D and
4-D inputs: PyTorch's argument rules and messages, and its source-index arithmetic (in the
input's dtype, as PyTorch's CPU kernels compute it) turned into per-axis (index, weight)
tables for the ops in ``ops/resample.py``. 'area' is adaptive average pooling."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ...ops import resample as R
from ._checks import check_float
from ._half import float16_via_float32
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

_OPS = {("nearest", 1): R.UpsampleNearest1d, ("nearest", 2): R.UpsampleNearest2d,
        ("nearest-exact", 1): R.UpsampleNearestExact1d,
        ("nearest-exact", 2): R.UpsampleNearestExact2d,
        ("linear", 1): R.UpsampleLinear1d, ("bilinear", 2): R.UpsampleBilinear2d,
        ("bicubic", 2): R.UpsampleBicubic2d}
_CUBIC_A = -0.75


def _scale(in_size, out_size, align_corners, scale_factor, dt):
    """PyTorch's area_pixel_compute_scale, in the dtype ``dt``."""
    if align_corners:
        return dt(in_size - 1) / dt(out_size - 1) if out_size > 1 else dt(0)
    if scale_factor is not None and scale_factor > 0:
        return dt(1.0 / scale_factor)
    return dt(in_size) / dt(out_size)


def _nearest_table(in_size, out_size, scale_factor, exact):
    # PyTorch computes nearest indices in float32 whatever the input dtype
    if out_size == in_size:
        idx = np.arange(out_size)
    elif out_size == 2 * in_size and not exact:
        idx = np.arange(out_size) >> 1
    else:
        s = _scale(in_size, out_size, False, scale_factor, np.float32)
        o = np.arange(out_size, dtype=np.float32)
        src = (o + np.float32(0.5)) * s if exact else o * s
        idx = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    return idx.reshape(-1, 1).astype(np.int64), np.ones((out_size, 1))


def _linear_table(in_size, out_size, align_corners, scale_factor, dt):
    if out_size == in_size:
        return np.arange(out_size).reshape(-1, 1), np.ones((out_size, 1), dt)
    s = _scale(in_size, out_size, align_corners, scale_factor, dt)
    o = np.arange(out_size).astype(dt)
    src = o * s if align_corners else np.maximum(s * (o + dt(0.5)) - dt(0.5), dt(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0.astype(dt), dt(0), dt(1)).astype(dt)
    i1 = i0 + (i0 < in_size - 1)
    return np.stack([i0, i1], 1), np.stack([dt(1) - lam, lam], 1).astype(dt)


def _cubic_table(in_size, out_size, align_corners, scale_factor, dt):
    s = _scale(in_size, out_size, align_corners, scale_factor, dt)
    o = np.arange(out_size).astype(dt)
    src = o * s if align_corners else s * (o + dt(0.5)) - dt(0.5)
    i = np.floor(src).astype(np.int64)
    t = (src - i.astype(dt)).astype(dt)
    a = dt(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + dt(2)) * x - (a + dt(3))) * x * x + dt(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - dt(5) * a) * x + dt(8) * a) * x - dt(4) * a
    wts = np.stack([far(t + dt(1)), near(t), near(dt(1) - t), far(dt(2) - t)], 1).astype(dt)
    idx = np.clip(i[:, None] + np.arange(-1, 3), 0, in_size - 1)
    return idx.astype(np.int64), wts


def _output_size(input, dim, size, scale_factor, recompute_scale_factor):
    """(output sizes, scale factors or None), PyTorch's rules and messages."""
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{spatial} and output size of {size}. Please provide input "
                                 f"tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 f"(o1, o2, ...,oK) format.")
            if not all(isinstance(s, numbers.Integral) for s in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, "
                                f"int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            out = [int(s) for s in size]
        else:
            out = [int(size)] * dim
        scales = None
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(f"Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{spatial} and scale_factor of shape {scale_factor}. Please "
                                 f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 f"scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out = [math.floor(i * s) for i, s in zip(spatial, scales)]
        if recompute_scale_factor:
            scales = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if min(out) < 1:
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"{tuple(spatial)} output {tuple(out)}")
    return out, scales


@float16_via_float32
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``."""
    check_float(input, "input", "interpolate", kernel_dtypes=True)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    if dim not in (1, 2):
        raise NotImplementedError(f"Input Error: Only 3D and 4D input Tensors are supported by "
                                  f"nanotorch (got {input.ndim}D) for the modes: nearest | "
                                  f"linear | bilinear | bicubic | area | nearest-exact (got "
                                  f"{mode})")
    out, scales = _output_size(input, dim, size, scale_factor,
                               recompute_scale_factor or (mode == "area" and size is None))
    if antialias:
        if not (mode in ("bilinear", "bicubic") and dim == 2):
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                             "modes and requires a 4-D tensor as input")
        raise NotImplementedError("interpolate(): antialias=True is not supported by nanotorch")
    if mode == "area":
        return adaptive_avg_pool1d(input, out[0]) if dim == 1 else \
            adaptive_avg_pool2d(input, out)
    op = _OPS.get((mode, dim))
    if op is None:
        wants = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}.get(mode)
        if wants is None:
            raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                      f"(got {input.ndim}D) for the modes: nearest | linear | "
                                      f"bilinear | bicubic | trilinear | lanczos | area | "
                                      f"nearest-exact (got {mode})")
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {wants}D "
                                  f"input")
    dt = input._array.dtype.type
    tables = []
    for d in range(dim):
        n_in, n_out = input.shape[2 + d], out[d]
        s = None if scales is None else scales[d]
        if mode.startswith("nearest"):
            tables.append(_nearest_table(n_in, n_out, s, mode == "nearest-exact"))
        elif mode == "bicubic":
            tables.append(_cubic_table(n_in, n_out, align_corners, s, dt))
        else:
            tables.append(_linear_table(n_in, n_out, align_corners, s, dt))
    return op.apply(input, tables=tuple(tables))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
