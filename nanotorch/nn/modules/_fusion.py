"""Inference fusion: Conv2d -> BatchNorm2d (eval) -> activation run as one channels-last
convolution with the BatchNorm folded into the conv's weight and bias and the activation
(and a residual sum) applied in its output pass (kernels/conv_nhwc.py).

Taken only when nothing needs a gradient (grad mode off, or input and parameters all
frozen), the batch norm uses its running statistics and no module involved has hooks;
otherwise the modules run one by one as usual. Folded weights are cached per conv and
rebuilt when a parameter or buffer changes (their version counters or arrays).

Fused outputs are NCHW-shaped views of NHWC memory; the outermost fused region returns
a contiguous tensor, so callers never see the layout."""
from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager

import numpy as np

from ...autograd.grad_mode import is_grad_enabled
from ...kernels.conv_nhwc import conv2d_nhwc, max_pool2d_nhwc, prepare_weight
from . import _backward_hooks
from .activation import Hardswish, ReLU, ReLU6, SiLU
from .batchnorm import BatchNorm2d
from .conv import Conv2d
from .pooling import MaxPool2d

__all__ = ["conv_bn_act", "fused_sequential", "max_pool", "region"]

_ACTS = {ReLU: "relu", ReLU6: "relu6", Hardswish: "hardswish", SiLU: "silu"}
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_local = threading.local()


def _plain(m):
    return not (m._forward_pre_hooks or m._forward_hooks or _backward_hooks.wants_hooks(m))


def _conv_ok(conv, x):
    if type(conv) is not Conv2d or not _plain(conv) or not isinstance(conv.padding, tuple):
        return False
    w = conv.weight
    if x.ndim != 4 or x.dtype != w.dtype or w._array.dtype not in (np.float32, np.float64):
        return False
    return conv.groups == 1 or conv.groups == conv.in_channels == conv.out_channels


def _bn_ok(bn):
    return (type(bn) is BatchNorm2d and not bn.training and _plain(bn)
            and bn.running_mean is not None and bn.running_var is not None)


def _act_name(m):
    return _ACTS.get(type(m)) if m is not None and _plain(m) else None


def _tensors(conv, bn):
    ts = [conv.weight, conv.bias]
    if bn is not None:
        ts += [bn.weight, bn.bias, bn.running_mean, bn.running_var]
    return ts


def _needs_grad(x, conv, bn):
    return is_grad_enabled() and (x.requires_grad or any(
        p is not None and p.requires_grad for p in _tensors(conv, bn)[:4]))


def _folded(conv, bn):
    """(weight in the kernel's layout, bias) of conv with bn folded in, from the cache
    while no tensor involved changed."""
    ts = _tensors(conv, bn)
    key = [(None, 0) if t is None else (t._array, t._version) for t in ts] + \
        [None if bn is None else bn.eps]
    hit = _cache.get(conv)
    if hit is not None and hit[0][-1] == key[-1] and all(
            a is b and va == vb for (a, va), (b, vb) in zip(hit[0][:-1], key[:-1])):
        return hit[1], hit[2]
    w = conv.weight._array.astype(np.float64)
    dt = conv.weight._array.dtype
    b = np.zeros(w.shape[0]) if conv.bias is None else conv.bias._array.astype(np.float64)
    if bn is not None:
        scale = 1.0 / np.sqrt(bn.running_var._array.astype(np.float64) + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight._array
        b = (b - bn.running_mean._array) * scale
        if bn.bias is not None:
            b = b + bn.bias._array
        w = w * scale[:, None, None, None]
    wp = prepare_weight(w.astype(dt), conv.groups > 1)
    b = np.ascontiguousarray(b, dtype=dt)
    _cache[conv] = (key, wp, b)
    return wp, b


def _fusable(x, conv, bn):
    from ...tensor import Tensor
    return (isinstance(x, Tensor) and _conv_ok(conv, x) and (bn is None or _bn_ok(bn))
            and not _needs_grad(x, conv, bn))


def _run(x, conv, bn, act, residual=None):
    from ...autograd.function import _wrap
    wp, b = _folded(conv, bn)
    res = None if residual is None else residual._array
    y = conv2d_nhwc(x._array, wp, b, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups > 1, act, res)
    return _wrap(y)


@contextmanager
def region():
    """Fused outputs may stay channels-last inside; the outermost region's caller gets
    them back contiguous (see ``_finish``)."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


def _finish(out, x):
    if getattr(_local, "depth", 0) == 0 and out is not x and hasattr(out, "_array") \
            and not out._array.flags.c_contiguous:
        return out.contiguous()
    return out


def conv_bn_act(x, conv, bn=None, act=None, residual=None):
    """act(bn(conv(x)) [+ residual]), fused when possible (``act`` a module or None)."""
    name = _act_name(act)
    if (act is None or name is not None) and _fusable(x, conv, bn) and (
            residual is None or (not _needs_grad(residual, conv, None)
                                 and residual.shape[1] == conv.out_channels)):
        return _finish(_run(x, conv, bn, name, residual), x)
    y = conv(x)
    if bn is not None:
        y = bn(y)
    if residual is not None:
        y = y + residual
    return y if act is None else act(y)


def fused_sequential(seq, x):
    """Sequential.forward with runs of conv [-> batch norm] [-> activation] fused."""
    mods = list(seq._modules.values())
    n, x0 = len(mods), x
    with region():
        i = 0
        while i < n:
            m = mods[i]
            if type(m) is Conv2d and _fusable(x, m, None):
                bn = mods[i + 1] if i + 1 < n and _bn_ok(mods[i + 1]) else None
                j = i + 1 + (bn is not None)
                act = _act_name(mods[j]) if j < n else None
                if bn is not None or act is not None:
                    if bn is None or not _needs_grad(x, m, bn):
                        x = _run(x, m, bn, act)
                        i = j + (act is not None)
                        continue
            x = max_pool(x, m) if type(m) is MaxPool2d else m(x)
            i += 1
    return _finish(x, x0)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def max_pool(x, pool):
    """pool(x) for a MaxPool2d module; on a channels-last input that needs no gradient,
    in that layout (a copy to NCHW and back costs more than the pooling)."""
    a = getattr(x, "_array", None)
    if (type(pool) is MaxPool2d and _plain(pool) and a is not None and a.ndim == 4
            and not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous
            and not (is_grad_enabled() and x.requires_grad)
            and not pool.ceil_mode and not pool.return_indices
            and _pair(pool.dilation) == (1, 1)):
        from ...autograd.function import _wrap
        k = _pair(pool.kernel_size)
        s = _pair(pool.stride if pool.stride is not None else pool.kernel_size)
        p = _pair(pool.padding)
        if all(pi <= ki // 2 for pi, ki in zip(p, k)) and all(
                n + 2 * pi >= ki for n, pi, ki in zip(a.shape[2:], p, k)):
            return _finish(_wrap(max_pool2d_nhwc(a, k, s, p)), x)
    return pool(x)
