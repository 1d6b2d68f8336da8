"""2-D pooling kernels on NCHW NumPy arrays (float32 / float64).

Max pooling returns flat (h*W + w) argmax indices per (n, c) plane, int64.
Average and adaptive average pooling share one kernel pair: both have
rectangular windows whose row bounds depend only on the output row and column
bounds only on the output column, so each is described by per-axis
start / end / divisor arrays.
"""
import numpy as np
from numba import njit, prange

from ._math import first_in_bounds, in_bounds_span

__all__ = [
    "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d_forward", "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d_forward",
]


# ----------------------------------------------------------------------------
# shapes


def _check_input(name, x):
    if x.ndim != 4:
        raise ValueError(f"{name}: input must be 4-D (N, C, H, W), got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: dtype must be float32 or float64, got {x.dtype}")


def _check_shape(name, shape):
    if len(shape) != 4:
        raise ValueError(f"{name}: input_shape must be (N, C, H, W), got {tuple(shape)}")


def _out_size(name, size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output length along one axis."""
    if k < 1 or s < 1 or d < 1 or p < 0:
        raise ValueError(f"{name}: need kernel_size, stride, dilation >= 1 and padding >= 0, "
                         f"got kernel_size={k}, stride={s}, padding={p}, dilation={d}")
    if p > k // 2:
        raise ValueError(f"{name}: padding {p} must be at most half of kernel_size {k}")
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    # the last window must start inside the input or the left padding
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out <= 0:
        raise ValueError(f"{name}: output size {out} <= 0 for input size {size}, "
                         f"kernel_size={k}, stride={s}, padding={p}, dilation={d}")
    return out


def _out_shape(name, shape, kernel_size, stride, padding, dilation, ceil_mode):
    N, C, H, W = shape
    OH = _out_size(name, H, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = _out_size(name, W, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode)
    return OH, OW


def _avg_windows(size, n_out, k, s, p, count_include_pad):
    """Per-axis (start, end, divisor) of avg_pool windows, PyTorch's rules."""
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, size + p)  # a ceil_mode window may run past the padding
    padded = end - start
    start = np.maximum(start, 0)
    end = np.minimum(end, size)
    return start, end, (padded if count_include_pad else end - start)


def _adaptive_windows(size, n_out):
    i = np.arange(n_out)
    start = (i * size) // n_out
    end = -((-(i + 1) * size) // n_out)  # ceil division
    return start, end, end - start


def _avg_params(name, shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override, dtype):
    OH, OW = _out_shape(name, shape, kernel_size, stride, padding, (1, 1), ceil_mode)
    hs, he, hd = _avg_windows(shape[2], OH, kernel_size[0], stride[0], padding[0],
                              count_include_pad)
    ws, we, wd = _avg_windows(shape[3], OW, kernel_size[1], stride[1], padding[1],
                              count_include_pad)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{name}: divisor_override must be non-zero")
        hd, wd = np.full(OH, divisor_override), np.ones(OW)
    return hs, he, hd.astype(dtype), ws, we, wd.astype(dtype)


def _adaptive_params(name, shape, output_size, dtype):
    OH, OW = output_size
    if OH < 1 or OW < 1:
        raise ValueError(f"{name}: output_size must be positive, got {tuple(output_size)}")
    if shape[2] < 1 or shape[3] < 1:
        raise ValueError(f"{name}: input spatial size must be non-empty, got shape {tuple(shape)}")
    hs, he, hd = _adaptive_windows(shape[2], OH)
    ws, we, wd = _adaptive_windows(shape[3], OW)
    return hs, he, hd.astype(dtype), ws, we, wd.astype(dtype)


# ----------------------------------------------------------------------------
# Numba kernels


@njit(parallel=True, cache=True)
def _max_forward(x, KH, KW, sh, sw, ph, pw, dh, dw, y, idx):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        xp = x[n, c]
        yp = y[n, c]
        ip = idx[n, c]
        for oh in range(OH):
            h0 = oh * sh - ph
            i0 = first_in_bounds(h0, dh)
            ilo, ihi = in_bounds_span(h0, dh, H, KH)
            for ow in range(OW):
                w0 = ow * sw - pw
                j0 = first_in_bounds(w0, dw)
                jlo, jhi = in_bounds_span(w0, dw, W, KW)
                best = -np.inf
                # PyTorch's index when nothing beats -inf: first tap >= 0
                bi = (h0 + i0 * dh) * W + w0 + j0 * dw
                for i in range(ilo, ihi):
                    h = h0 + i * dh
                    xr = xp[h]
                    for j in range(jlo, jhi):
                        v = xr[w0 + j * dw]
                        if v > best or np.isnan(v):  # NaN propagates
                            best = v
                            bi = h * W + w0 + j * dw
                yp[oh, ow] = best
                ip[oh, ow] = bi


@njit(parallel=True, cache=True)
def _max_forward_values(x, KH, KW, sh, sw, ph, pw, dh, dw, y):
    """_max_forward without the indices (inference): pure selects, which vectorise."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    xf, yf = x.reshape(-1), y.reshape(-1)
    for t in prange(N * C):
        xb = t * H * W
        for oh in range(OH):
            h0 = oh * sh - ph
            ilo, ihi = in_bounds_span(h0, dh, H, KH)
            yb = np.uint64((t * OH + oh) * OW)
            for ow in range(OW):
                yf[yb + np.uint64(ow)] = -np.inf
            for i in range(ilo, ihi):
                h = h0 + i * dh
                for j in range(KW):
                    off = j * dw - pw
                    lo, hi = in_bounds_span(off, sw, W, OW)
                    if hi <= lo:
                        continue
                    src = np.uint64(xb + h * W + lo * sw + off)
                    d0 = yb + np.uint64(lo)
                    for q in range(hi - lo):
                        uq = np.uint64(q)
                        v = xf[src + uq * np.uint64(sw)]
                        cur = yf[d0 + uq]
                        yf[d0 + uq] = v if (v > cur or v != v) else cur  # NaN propagates


@njit(parallel=True, cache=True)
def _adaptive_max_forward(x, hs, he, ws, we, y, idx):
    """x (P, H, W); y, idx (P, OH, OW): max and flat argmax over window [hs, he) x [ws, we)
    (NaN propagates; ties keep the first)."""
    P, H, W = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for p in prange(P):
        for oh in range(OH):
            for ow in range(OW):
                best = -np.inf
                bi = hs[oh] * W + ws[ow]
                for h in range(hs[oh], he[oh]):
                    for w in range(ws[ow], we[ow]):
                        v = x[p, h, w]
                        if v > best or np.isnan(v):
                            best = v
                            bi = h * W + w
                y[p, oh, ow] = best
                idx[p, oh, ow] = bi


@njit(parallel=True, cache=True)
def _max_backward(gy, idx, gx, bad):
    """gy, idx (P, L); gx (P, HW) overwritten; bad[p] counts out-of-range indices."""
    P, L = gy.shape
    HW = gx.shape[1]
    for p in prange(P):
        g = gx[p]
        g[:] = 0
        nbad = 0
        for k in range(L):
            j = idx[p, k]
            if j < 0 or j >= HW:
                nbad += 1
            else:
                g[j] += gy[p, k]
        bad[p] = nbad


@njit(inline="always")
def _window_runs(base, W, h0, h1, w0, w1):
    """The window rows h0:h1, columns w0:w1 of the plane at flat offset ``base``, as
    (start, runs, length): ``runs`` contiguous runs of ``length`` elements, W apart.
    A full-width window is one run, so its loop is long enough to vectorise."""
    if w0 == 0 and w1 == W:
        return base + h0 * W, min(h1 - h0, 1), (h1 - h0) * W
    return base + h0 * W + w0, h1 - h0, w1 - w0


# reassoc lets LLVM vectorise the window sums (a serial add chain is ~5x slower)
@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _window_avg_forward(x, hs, he, hd, ws, we, wd, y):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    xf = x.reshape(-1)
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        yp = y[n, c]
        base = t * H * W
        for oh in range(OH):
            for ow in range(OW):
                start, runs, length = _window_runs(base, W, hs[oh], he[oh], ws[ow], we[ow])
                s = 0.0
                for r in range(runs):
                    b = np.uint64(start + r * W)
                    for k in range(length):
                        s += xf[b + np.uint64(k)]
                div = hd[oh] * wd[ow]
                yp[oh, ow] = s / div if div != 0 else 0.0


@njit(parallel=True, cache=True)
def _window_avg_backward(gy, hs, he, hd, ws, we, wd, gx):
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    gf = gx.reshape(-1)
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        gyp = gy[n, c]
        base = t * H * W
        for k in range(H * W):
            gf[np.uint64(base + k)] = 0
        for oh in range(OH):
            for ow in range(OW):
                div = hd[oh] * wd[ow]
                if div == 0:
                    continue
                g = gyp[oh, ow] / div
                start, runs, length = _window_runs(base, W, hs[oh], he[oh], ws[ow], we[ow])
                for r in range(runs):
                    b = np.uint64(start + r * W)
                    for k in range(length):
                        gf[b + np.uint64(k)] += g


# ----------------------------------------------------------------------------
# public API


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode,
                       with_indices=True):
    """Max pooling with -inf padding; returns (y, int64 flat indices into each H*W plane),
    the indices None unless ``with_indices``."""
    _check_input("max_pool2d", x)
    OH, OW = _out_shape("max_pool2d", x.shape, kernel_size, stride, padding, dilation,
                        ceil_mode)
    N, C = x.shape[:2]
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    args = (np.ascontiguousarray(x), kernel_size[0], kernel_size[1], stride[0], stride[1],
            padding[0], padding[1], dilation[0], dilation[1], y)
    if not with_indices:
        _max_forward_values(*args)
        return y, None
    idx = np.empty((N, C, OH, OW), dtype=np.int64)
    _max_forward(*args, idx)
    return y, idx


def max_pool2d_backward(grad_y, indices, input_shape):
    """Scatter-add grad_y into an input-shaped zero array at the argmax indices."""
    _check_shape("max_pool2d_backward", input_shape)
    if grad_y.shape != indices.shape or grad_y.ndim != 4:
        raise ValueError(f"max_pool2d_backward: grad_y shape {grad_y.shape} and indices shape "
                         f"{indices.shape} must match and be 4-D")
    N, C, H, W = input_shape
    if grad_y.shape[:2] != (N, C):
        raise ValueError(f"max_pool2d_backward: grad_y shape {grad_y.shape} does not match "
                         f"input_shape {tuple(input_shape)}")
    P, L = N * C, grad_y.shape[2] * grad_y.shape[3]
    gx = np.empty((N, C, H, W), dtype=grad_y.dtype)
    bad = np.empty(P, dtype=np.int64)
    _max_backward(np.ascontiguousarray(grad_y).reshape(P, L),
                  np.ascontiguousarray(indices, dtype=np.int64).reshape(P, L),
                  gx.reshape(P, H * W), bad)
    if bad.any():
        raise IndexError(f"max_pool2d_backward: {int(bad.sum())} indices outside [0, {H * W})")
    return gx


def avg_pool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override):
    """Average pooling with zero padding and PyTorch's divisor rules."""
    _check_input("avg_pool2d", x)
    params = _avg_params("avg_pool2d", x.shape, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override, x.dtype)
    y = np.empty(x.shape[:2] + (len(params[0]), len(params[3])), dtype=x.dtype)
    _window_avg_forward(np.ascontiguousarray(x), *params, y)
    return y


def avg_pool2d_backward(grad_y, input_shape, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
    """Gradient of avg_pool2d_forward with respect to its input."""
    _check_shape("avg_pool2d_backward", input_shape)
    params = _avg_params("avg_pool2d_backward", input_shape, kernel_size, stride, padding,
                         ceil_mode, count_include_pad, divisor_override, grad_y.dtype)
    return _window_backward("avg_pool2d_backward", grad_y, input_shape, params)


def adaptive_avg_pool2d_forward(x, output_size):
    """Adaptive average pooling: window i spans [floor(i*H/oh), ceil((i+1)*H/oh))."""
    _check_input("adaptive_avg_pool2d", x)
    params = _adaptive_params("adaptive_avg_pool2d", x.shape, output_size, x.dtype)
    y = np.empty(x.shape[:2] + tuple(output_size), dtype=x.dtype)
    _window_avg_forward(np.ascontiguousarray(x), *params, y)
    return y


def adaptive_avg_pool2d_backward(grad_y, input_shape):
    """Gradient of adaptive_avg_pool2d_forward; the output size is read from grad_y."""
    _check_shape("adaptive_avg_pool2d_backward", input_shape)
    if grad_y.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d_backward: grad_y must be 4-D, got {grad_y.shape}")
    params = _adaptive_params("adaptive_avg_pool2d_backward", input_shape, grad_y.shape[2:],
                              grad_y.dtype)
    return _window_backward("adaptive_avg_pool2d_backward", grad_y, input_shape, params)


def adaptive_max_pool2d_forward(x, output_size):
    """Adaptive max pooling over the windows of adaptive_avg_pool2d; returns (y, int64 flat
    argmax indices into each H*W plane), the gradient going through max_pool2d_backward."""
    _check_input("adaptive_max_pool2d", x)
    hs, he, _, ws, we, _ = _adaptive_params("adaptive_max_pool2d", x.shape, output_size, x.dtype)
    N, C, H, W = x.shape
    y = np.empty((N * C,) + tuple(output_size), dtype=x.dtype)
    idx = np.empty(y.shape, dtype=np.int64)
    _adaptive_max_forward(np.ascontiguousarray(x).reshape(N * C, H, W), hs, he, ws, we, y, idx)
    return y.reshape((N, C) + y.shape[1:]), idx.reshape((N, C) + y.shape[1:])


def _window_backward(name, grad_y, input_shape, params):
    expect = tuple(input_shape[:2]) + (len(params[0]), len(params[3]))
    if grad_y.shape != expect:
        raise ValueError(f"{name}: grad_y shape {grad_y.shape} != expected output shape {expect}")
    if grad_y.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: dtype must be float32 or float64, got {grad_y.dtype}")
    gx = np.empty(tuple(input_shape), dtype=grad_y.dtype)
    _window_avg_backward(np.ascontiguousarray(grad_y), *params, gx)
    return gx
