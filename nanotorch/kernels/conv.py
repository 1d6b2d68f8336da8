"""2-D convolution kernels on NCHW NumPy arrays (float32 / float64).

General convolutions lower to im2col + one BLAS matmul per group; 1x1 stride-1
unpadded convolutions are a plain matmul; depthwise convolutions
(groups == in_channels, any channel multiplier) use direct Numba loops.

Columns are built for a chunk of m samples at a time, laid out
(C*kh*kw, m, OH*OW), so each group of a chunk is one GEMM.
"""
import numpy as np
from numba import njit, prange

from ._math import in_bounds_span
from ._workers import WorkQueue, even_bands, run_split, worker_count, workspace

__all__ = ["conv2d_forward", "conv2d_backward", "conv2d_input_grad", "conv_transpose2d_forward",
           "conv_transpose2d_backward", "unfold_forward", "fold_forward"]


# ----------------------------------------------------------------------------
# shape checking


def _geometry(x, w, stride, padding, dilation, groups):
    """Validate shapes; return (OH, OW)."""
    if x.ndim != 4:
        raise ValueError(f"conv2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (O, C/groups, kh, kw), got shape {w.shape}")
    if x.dtype != w.dtype or x.dtype not in (np.float32, np.float64):
        raise TypeError(f"conv2d: input and weight must share dtype float32 or float64, "
                        f"got {x.dtype} and {w.dtype}")
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    if groups < 1:
        raise ValueError(f"conv2d: groups must be >= 1, got {groups}")
    if C % groups:
        raise ValueError(f"conv2d: input channels {C} not divisible by groups {groups}")
    if O % groups:
        raise ValueError(f"conv2d: output channels {O} not divisible by groups {groups}")
    if Cg * groups != C:
        raise ValueError(f"conv2d: weight {w.shape} with groups={groups} expects "
                         f"{Cg * groups} input channels, input {x.shape} has {C}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: need stride >= 1, dilation >= 1, padding >= 0; got "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    if OH <= 0 or OW <= 0:
        raise ValueError(f"conv2d: output size ({OH}, {OW}) <= 0 for input {x.shape}, "
                         f"kernel ({KH}, {KW}), stride={stride}, padding={padding}, "
                         f"dilation={dilation}")
    return OH, OW


def _is_depthwise(x, groups):
    # one input channel (groups == C == 1) is the same loop: each output channel reads it
    return groups == x.shape[1]


def _is_pointwise(w, stride, padding, dilation):
    return (w.shape[2] == 1 and w.shape[3] == 1 and stride == (1, 1)
            and padding == (0, 0))


# ----------------------------------------------------------------------------
# Numba kernels
#
# Kernels take flat (1-D) arrays, a geometry tuple
#   geo = (C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
# and index with np.uint64 offsets: Numba adds a negative-index wraparound
# check to every signed index, which blocks vectorisation of the inner copy
# loops (measured ~3x slower im2col).


# _im2col/_col2im are serial and release the GIL: the parallelism comes from
# worker threads each taking a share of the samples (_workers.run_split).
@njit(cache=True, nogil=True)
def _im2col(xf, geo, m, cf):
    """Columns of m samples: cf viewed as (C*KH*KW, m, OH*OW) gets
    cf[(c*KH+i)*KW+j, n, oh*OW+ow] = x_padded[n, c, oh*sh+i*dh, ow*sw+j*dw]."""
    C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    L = OH * OW
    for t in range(C * KH * KW * m):
        r = t // m
        n = t - r * m
        c = r // (KH * KW)
        k = r - c * (KH * KW)
        i = k // KW
        j = k - i * KW
        lo, hi = in_bounds_span(j * dw - pw, sw, W, OW)
        for oh in range(OH):
            h = oh * sh - ph + i * dh
            dst = np.uint64(t * L + oh * OW)
            if h < 0 or h >= H:
                for ow in range(OW):
                    cf[dst + np.uint64(ow)] = 0
                continue
            for ow in range(lo):
                cf[dst + np.uint64(ow)] = 0
            src = np.uint64(((n * C + c) * H + h) * W + lo * sw + j * dw - pw)
            d0 = dst + np.uint64(lo)
            if sw == 1:
                for q in range(hi - lo):
                    cf[d0 + np.uint64(q)] = xf[src + np.uint64(q)]
            else:
                for q in range(hi - lo):
                    cf[d0 + np.uint64(q)] = xf[src + np.uint64(q * sw)]
            for ow in range(hi, OW):
                cf[dst + np.uint64(ow)] = 0


@njit(cache=True, nogil=True)
def _col2im(cf, geo, m, gxf):
    """Adjoint of _im2col: scatter-add the columns of m samples into gxf (overwritten)."""
    C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    L = OH * OW
    for t in range(m * C):
        n = t // C
        c = t - n * C
        base = t * H * W
        for e in range(H * W):
            gxf[np.uint64(base + e)] = 0
        for i in range(KH):
            for j in range(KW):
                row = ((c * KH + i) * KW + j) * m + n
                lo, hi = in_bounds_span(j * dw - pw, sw, W, OW)
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    if h < 0 or h >= H:
                        continue
                    src = np.uint64(row * L + oh * OW + lo)
                    dst = np.uint64(base + h * W + lo * sw + j * dw - pw)
                    if sw == 1:
                        for q in range(hi - lo):
                            gxf[dst + np.uint64(q)] += cf[src + np.uint64(q)]
                    else:
                        for q in range(hi - lo):
                            gxf[dst + np.uint64(q * sw)] += cf[src + np.uint64(q)]


@njit(inline="always")
def _axpy(a, x, x0, xs, y, y0, ys, n):
    """y[y0 + q*ys] += a * x[x0 + q*xs] for q < n (uint64 offsets); the unit-stride
    case is a loop of its own, which LLVM vectorises."""
    if xs == 1 and ys == 1:
        for q in range(n):
            y[y0 + np.uint64(q)] += a * x[x0 + np.uint64(q)]
    else:
        for q in range(n):
            y[y0 + np.uint64(q * ys)] += a * x[x0 + np.uint64(q * xs)]


@njit(inline="always")
def _dw_taps(wf, o, geo, xf, xb, yf, yb, adjoint):
    """Every tap of depthwise output channel o between the input plane at xf[xb:]
    and the output plane at yf[yb:]: y += w * x, or with ``adjoint`` (a constant
    in each caller) x += w * y."""
    C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    for i in range(KH):
        ohlo, ohhi = in_bounds_span(i * dh - ph, sh, H, OH)
        for j in range(KW):
            wv = wf[(o * KH + i) * KW + j]
            lo, hi = in_bounds_span(j * dw - pw, sw, W, OW)
            for oh in range(ohlo, ohhi):
                xo = np.uint64(xb + (oh * sh - ph + i * dh) * W + lo * sw + j * dw - pw)
                yo = np.uint64(yb + oh * OW + lo)
                if adjoint:
                    _axpy(wv, yf, yo, 1, xf, xo, sw, hi - lo)
                else:
                    _axpy(wv, xf, xo, sw, yf, yo, 1, hi - lo)


@njit(parallel=True, cache=True)
def _dw_forward(xf, wf, b, geo, N, O, yf):
    """Depthwise conv: output channel o reads input channel o // (O // C)."""
    C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    M = O // C
    for t in prange(N * O):
        n = t // O
        o = t - n * O
        xb = (n * C + o // M) * H * W
        yb = t * OH * OW
        for e in range(OH * OW):
            yf[np.uint64(yb + e)] = b[o]
        _dw_taps(wf, o, geo, xf, xb, yf, yb, False)


@njit(parallel=True, cache=True)
def _dw_grad_input(wf, gyf, geo, N, O, gxf):
    """Depthwise grad wrt input; gxf (N*C*H*W) is overwritten."""
    C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    M = O // C
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        gb = t * H * W
        for e in range(H * W):
            gxf[np.uint64(gb + e)] = 0
        for o in range(c * M, (c + 1) * M):
            _dw_taps(wf, o, geo, gxf, gb, gyf, (n * O + o) * OH * OW, True)


@njit(parallel=True, cache=True)
def _dw_grad_weight(xf, gyf, geo, N, O, part):
    """Per-sample depthwise weight grads, part (N, O*KH*KW) overwritten."""
    C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = geo
    M = O // C
    acc = np.empty(N * O * OW, dtype=part.dtype)
    for t in prange(N * O):
        n = t // O
        o = t - n * O
        xb = (n * C + o // M) * H * W
        yb = t * OH * OW
        ab = np.uint64(t * OW)
        for i in range(KH):
            ohlo, ohhi = in_bounds_span(i * dh - ph, sh, H, OH)
            for j in range(KW):
                lo, hi = in_bounds_span(j * dw - pw, sw, W, OW)
                # accumulate elementwise into a row (vectorises without
                # reassociating a scalar sum), reduce once at the end
                for q in range(OW):
                    acc[ab + np.uint64(q)] = 0
                for oh in range(ohlo, ohhi):
                    src = np.uint64(xb + (oh * sh - ph + i * dh) * W + lo * sw + j * dw - pw)
                    g0 = np.uint64(yb + oh * OW + lo)
                    if sw == 1:
                        for q in range(hi - lo):
                            uq = np.uint64(q)
                            acc[ab + uq] += gyf[g0 + uq] * xf[src + uq]
                    else:
                        for q in range(hi - lo):
                            uq = np.uint64(q)
                            acc[ab + uq] += gyf[g0 + uq] * xf[src + np.uint64(q * sw)]
                s = 0.0
                for q in range(hi - lo):
                    s += acc[ab + np.uint64(q)]
                part[n, (o * KH + i) * KW + j] = s


# ----------------------------------------------------------------------------
# public API

# Samples are split into chunks, the chunks shared among worker threads (see
# _workers.py); a chunk's columns must fit a per-thread buffer of _CHUNK_BYTES
# (cache-sized, reused across calls) and should give GEMMs at least
# _MIN_GEMM_COLS wide (narrower ones run far below BLAS's peak).
_CHUNK_BYTES = 8 << 20
_MIN_GEMM_COLS = 256
_SMALL_WEIGHT = 1 << 18


def _geo(x, w, stride, padding, dilation, OH, OW):
    return (x.shape[1], x.shape[2], x.shape[3], w.shape[2], w.shape[3], stride[0], stride[1],
            padding[0], padding[1], dilation[0], dilation[1], OH, OW)


def _plan(N, L, per_sample_bytes, min_cols):
    """(chunks [(n0, n1), ...] covering range(N), worker threads to share them): chunks
    of about equal size, a whole number of them per worker."""
    workers = worker_count(N)
    nb = min(-(-min_cols // L), _CHUNK_BYTES // max(per_sample_bytes, 1), -(-N // workers))
    per_worker = -(-N // (workers * max(1, nb)))
    chunks = even_bands(N, min(N, workers * per_worker))
    return chunks, min(workers, len(chunks))


def _columns(x, n0, n1, geo, pointwise):
    """Column matrix (C*KH*KW, m*OH*OW) of samples n0:n1, in the calling thread's
    workspace (or a view of x for one sample of a pointwise conv)."""
    C, KH, KW, OH, OW = geo[0], geo[3], geo[4], geo[11], geo[12]
    m, L = n1 - n0, OH * OW
    if pointwise and m == 1:
        return x[n0].reshape(C, L)
    cols = workspace("cols", C * KH * KW * m * L, x.dtype)
    if pointwise:
        cols.reshape(C, m, L)[...] = x[n0:n1].reshape(m, C, L).transpose(1, 0, 2)
    else:
        _im2col(x[n0:n1].reshape(-1), geo, m, cols)
    return cols.reshape(C * KH * KW, m * L)


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y = conv2d(x, w) + b; x (N, C, H, W), w (O, C/groups, kh, kw), b (O,) or None."""
    OH, OW = _geometry(x, w, stride, padding, dilation, groups)
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    if b is not None and b.shape != (O,):
        raise ValueError(f"conv2d: bias must have shape ({O},), got {b.shape}")
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    bias = None if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    G, Og, L = groups, O // groups, OH * OW
    y = np.empty((N, O, OH, OW), dtype=x.dtype)
    if N == 0:
        return y

    if _is_depthwise(x, groups):
        _dw_forward(x.reshape(-1), w.reshape(-1), np.zeros(O, x.dtype) if bias is None else bias,
                    _geo(x, w, stride, padding, dilation, OH, OW), N, O, y.reshape(-1))
        return y

    K = Cg * KH * KW
    geo = _geo(x, w, stride, padding, dilation, OH, OW)
    pointwise = _is_pointwise(w, stride, padding, dilation)
    chunks, workers = _plan(N, L, C * KH * KW * L * x.itemsize, _MIN_GEMM_COLS)
    wg = w.reshape(G, Og, K)
    queue = WorkQueue(len(chunks))
    bias_g = None if bias is None else bias.reshape(G, Og, 1)

    def task(k, step):
        for n0, n1 in (chunks[i] for i in queue):
            m = n1 - n0
            cols = _columns(x, n0, n1, geo, pointwise).reshape(G, K, m * L)
            if m == 1:  # (O, L) is already this sample's NCHW output
                yn = y[n0].reshape(G, Og, L)
                np.matmul(wg, cols, out=yn)
                if bias_g is not None:
                    yn += bias_g
                continue
            t = workspace("out", O * m * L, x.dtype).reshape(G, Og, m * L)
            np.matmul(wg, cols, out=t)
            t = t.reshape(O, m, L).transpose(1, 0, 2)
            if bias is None:
                y[n0:n1].reshape(m, O, L)[...] = t
            else:
                np.add(t, bias[:, None], out=y[n0:n1].reshape(m, O, L))

    run_split(task, workers)
    return y


def conv2d_backward(x, w, grad_y, stride, padding, dilation, groups,
                    need_input, need_weight, need_bias):
    """Gradients (grad_x, grad_w, grad_b) of conv2d; an entry is None when not needed."""
    OH, OW = _geometry(x, w, stride, padding, dilation, groups)
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    if grad_y.shape != (N, O, OH, OW):
        raise ValueError(f"conv2d_backward: grad_y shape {grad_y.shape} != output shape "
                         f"{(N, O, OH, OW)}")
    if grad_y.dtype != x.dtype:
        raise TypeError(f"conv2d_backward: grad_y dtype {grad_y.dtype} != input dtype {x.dtype}")
    gb = grad_y.sum(axis=(0, 2, 3)) if need_bias else None
    if not (need_input or need_weight):
        return None, None, gb
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    gy = np.ascontiguousarray(grad_y)
    G, Og, L = groups, O // groups, OH * OW
    gx = np.empty(x.shape, dtype=x.dtype) if need_input else None
    if N == 0:
        gw = np.zeros(w.shape, dtype=x.dtype) if need_weight else None
        return (None if gx is None else np.zeros_like(gx)), gw, gb

    if _is_depthwise(x, groups):
        geo = _geo(x, w, stride, padding, dilation, OH, OW)
        gw = None
        if need_input:
            _dw_grad_input(w.reshape(-1), gy.reshape(-1), geo, N, O, gx.reshape(-1))
        if need_weight:
            part = np.empty((N, O * KH * KW), dtype=x.dtype)
            _dw_grad_weight(x.reshape(-1), gy.reshape(-1), geo, N, O, part)
            gw = part.sum(axis=0).reshape(w.shape)
        return gx, gw, gb

    K = Cg * KH * KW
    geo = _geo(x, w, stride, padding, dilation, OH, OW)
    pointwise = _is_pointwise(w, stride, padding, dilation)
    # weight grads reduce over the chunk's columns: the longer, the better
    chunks, workers = _plan(N, L, C * KH * KW * L * x.itemsize,
                            _MIN_GEMM_COLS * (4 if need_weight else 1))
    wt = w.reshape(G, Og, K).transpose(0, 2, 1)
    # cols @ gy.T, giving grad_w transposed as (G, K, Og), measured 10-25% faster in
    # OpenBLAS than gy @ cols.T, but transposing a large result back costs more
    gw_transposed = G * Og * K <= _SMALL_WEIGHT
    queue = WorkQueue(len(chunks))

    def task(k, step):
        """grad_x of this worker's samples; returns its share of grad_w, as (G, K, Og)
        when gw_transposed else (G, Og, K)."""
        gw_part = None
        for n0, n1 in (chunks[i] for i in queue):
            m = n1 - n0
            if m == 1:
                gyt = gy[n0].reshape(G, Og, L)
            else:  # (m, O, L) -> (O, m*L) so each group is one GEMM
                gyt = workspace("grad_out", O * m * L, x.dtype).reshape(O, m, L)
                gyt[...] = gy[n0:n1].reshape(m, O, L).transpose(1, 0, 2)
                gyt = gyt.reshape(G, Og, m * L)
            if need_weight:
                colst = _columns(x, n0, n1, geo, pointwise).reshape(G, K, m * L)
                a, b = (colst, gyt) if gw_transposed else (gyt, colst)
                out = None if gw_part is None else \
                    workspace("grad_w", G * Og * K, x.dtype).reshape(G, a.shape[1], b.shape[1])
                prod = np.matmul(a, b.transpose(0, 2, 1), out=out)
                if gw_part is None:
                    gw_part = prod
                else:
                    gw_part += prod
            if need_input and pointwise:  # a sample's grad is one GEMM, already NCHW
                for n in range(n0, n1):
                    np.matmul(wt, gy[n].reshape(G, Og, L), out=gx[n].reshape(G, Cg, L))
            elif need_input:
                cols = workspace("cols", C * KH * KW * m * L, x.dtype)
                np.matmul(wt, gyt, out=cols.reshape(G, K, m * L))
                _col2im(cols, geo, m, gx[n0:n1].reshape(-1))
        return gw_part

    parts = [p for p in run_split(task, workers) if p is not None]
    gw = None
    if need_weight:
        gw = parts[0]
        for p in parts[1:]:
            gw += p
        if gw_transposed:
            gw = np.ascontiguousarray(gw.transpose(0, 2, 1))
        gw = gw.reshape(w.shape)
    return gx, gw, gb


# ----------------------------------------------------------------------------
# transposed convolution and the im2col / col2im pair (unfold / fold)


def conv2d_input_grad(grad_y, w, input_hw, stride, padding, dilation, groups):
    """Gradient of conv2d with respect to an input of spatial size ``input_hw``, from
    grad_y (N, O, OH, OW) and w (O, C/groups, kh, kw): columns w.T @ grad_y per group,
    scattered back by col2im. This is also the transposed convolution of grad_y."""
    N, O, OH, OW = grad_y.shape
    _, Cg, KH, KW = w.shape
    G, Og, L = groups, O // groups, OH * OW
    C, (H, W) = Cg * groups, input_hw
    gy = np.ascontiguousarray(grad_y)
    w = np.ascontiguousarray(w)
    gx = np.empty((N, C, H, W), dtype=gy.dtype)
    if N == 0:
        return gx
    geo = (C, H, W, KH, KW, stride[0], stride[1], padding[0], padding[1], dilation[0],
           dilation[1], OH, OW)
    if groups == C:
        _dw_grad_input(w.reshape(-1), gy.reshape(-1), geo, N, O, gx.reshape(-1))
        return gx
    K = Cg * KH * KW
    pointwise = _is_pointwise(w, stride, padding, dilation) and (H, W) == (OH, OW)
    chunks, workers = _plan(N, L, C * KH * KW * L * gy.itemsize, _MIN_GEMM_COLS)
    wt = w.reshape(G, Og, K).transpose(0, 2, 1)
    queue = WorkQueue(len(chunks))

    def task(k, step):
        for n0, n1 in (chunks[i] for i in queue):
            m = n1 - n0
            if pointwise:  # a sample's grad is one GEMM, already NCHW
                for n in range(n0, n1):
                    np.matmul(wt, gy[n].reshape(G, Og, L), out=gx[n].reshape(G, Cg, L))
                continue
            if m == 1:
                gyt = gy[n0].reshape(G, Og, L)
            else:  # (m, O, L) -> (O, m*L) so each group is one GEMM
                gyt = workspace("grad_out", O * m * L, gy.dtype).reshape(O, m, L)
                gyt[...] = gy[n0:n1].reshape(m, O, L).transpose(1, 0, 2)
                gyt = gyt.reshape(G, Og, m * L)
            cols = workspace("cols", C * KH * KW * m * L, gy.dtype)
            np.matmul(wt, gyt, out=cols.reshape(G, K, m * L))
            _col2im(cols, geo, m, gx[n0:n1].reshape(-1))

    run_split(task, workers)
    return gx


def conv_transpose2d_output_size(in_hw, kernel_hw, stride, padding, output_padding, dilation):
    """PyTorch's output (H, W) of a transposed convolution."""
    return tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, k, s, p, op, d in
                 zip(in_hw, kernel_hw, stride, padding, output_padding, dilation))


def conv_transpose2d_forward(x, w, b, stride, padding, output_padding, dilation, groups):
    """Transposed convolution of x (N, Cin, H, W) with w (Cin, Cout/groups, kh, kw): the
    adjoint of conv2d, so GEMM + col2im; b (Cout,) or None."""
    out_hw = conv_transpose2d_output_size(x.shape[2:], w.shape[2:], stride, padding,
                                          output_padding, dilation)
    y = conv2d_input_grad(x, w, out_hw, stride, padding, dilation, groups)
    if b is not None:
        y += b.reshape(-1, 1, 1).astype(y.dtype, copy=False)
    return y


def conv_transpose2d_backward(x, w, grad_y, stride, padding, dilation, groups,
                              need_input, need_weight, need_bias):
    """Gradients (grad_x, grad_w, grad_b) of conv_transpose2d_forward: the input's is the
    convolution of grad_y with w, the weight's is conv2d's weight gradient with the roles
    of input and output swapped. None where not needed."""
    gy = np.ascontiguousarray(grad_y, dtype=x.dtype)
    gb = gy.sum(axis=(0, 2, 3)) if need_bias else None
    gx = gw = None
    H, W = x.shape[2:]
    if need_input:
        gx = conv2d_forward(gy, w, None, stride, padding, dilation, groups)
        if gx.shape[2:] != (H, W):  # output_padding >= stride: rows no tap reaches
            gx = np.ascontiguousarray(gx[:, :, :H, :W])
    if need_weight:
        OH, OW = _geometry(gy, w, stride, padding, dilation, groups)
        xs = x
        if (OH, OW) != (H, W):
            xs = np.zeros(x.shape[:2] + (OH, OW), dtype=x.dtype)
            xs[:, :, :H, :W] = x
        gw = conv2d_backward(gy, w, xs, stride, padding, dilation, groups,
                             need_input=False, need_weight=True, need_bias=False)[1]
    return gx, gw, gb


def _window_geo(C, in_hw, kernel_size, dilation, padding, stride):
    """(geometry tuple, (OH, OW)) of sliding windows over a C x in_hw plane."""
    (H, W), (KH, KW) = in_hw, kernel_size
    OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    geo = (C, H, W, KH, KW, stride[0], stride[1], padding[0], padding[1], dilation[0],
           dilation[1], OH, OW)
    return geo, (OH, OW)


def _per_sample(N, work):
    """Run ``work(n0, n1)`` over bands of samples on the worker threads."""
    bands = even_bands(N, worker_count(N))
    run_split(lambda k, step: work(*bands[k]), len(bands))


def unfold_forward(x, kernel_size, dilation, padding, stride):
    """im2col: x (N, C, H, W) -> (N, C*kh*kw, L), L the number of window positions."""
    N, C = x.shape[:2]
    geo, (OH, OW) = _window_geo(C, x.shape[2:], kernel_size, dilation, padding, stride)
    x = np.ascontiguousarray(x)
    out = np.empty((N, C * kernel_size[0] * kernel_size[1], OH * OW), dtype=x.dtype)

    def work(n0, n1):
        for n in range(n0, n1):
            _im2col(x[n].reshape(-1), geo, 1, out[n].reshape(-1))
    if N:
        _per_sample(N, work)
    return out


def fold_forward(cols, output_size, kernel_size, dilation, padding, stride):
    """col2im: cols (N, C*kh*kw, L) summed into (N, C, *output_size); the adjoint of
    unfold_forward."""
    N, CK, L = cols.shape
    C = CK // (kernel_size[0] * kernel_size[1])
    geo, (OH, OW) = _window_geo(C, output_size, kernel_size, dilation, padding, stride)
    if OH * OW != L:
        raise ValueError(f"fold: {L} columns do not match the {OH * OW} window positions")
    cols = np.ascontiguousarray(cols)
    out = np.empty((N, C) + tuple(output_size), dtype=cols.dtype)

    def work(n0, n1):
        for n in range(n0, n1):
            _col2im(cols[n].reshape(-1), geo, 1, out[n].reshape(-1))
    if N:
        _per_sample(N, work)
    return out
