"""One ONNX translation per nanotorch op: ``CONVERTERS[op class](builder, record, inputs)``
writes the nodes that compute ``record.output`` from the graph names ``inputs``."""
from __future__ import annotations

import math

import numpy as np

from ..ops import activation as A
from ..ops import elementwise as E
from ..ops import indexing as I
from ..ops import linalg as L
from ..ops import norm as N
from ..ops import pool as P
from ..ops import reduction as R
from ..ops import shape as S
from ..ops.conv import Conv2d
from ..ops.padding import ConstantPad
from ..ops.softmax import LogSoftmax, Softmax

CONVERTERS = {}
_INT64_MAX = np.iinfo(np.int64).max


def find_converter(op):
    """The translation of ``op`` or of its nearest base class (Rsub is a Sub, MeanDim a
    Mean, a squeeze a View); None when there is none."""
    for cls in op.__mro__:
        if cls in CONVERTERS:
            return CONVERTERS[cls]
    return None


def converts(*ops):
    def add(fn):
        for op in ops:
            CONVERTERS[op] = fn
        return fn
    return add


def _pads(padding):
    ph, pw = padding
    return [ph, pw, ph, pw]


@converts(Conv2d)
def _conv(b, r, x):
    p = r.params
    inputs = x if x[2] is not None else x[:2]
    b.node("Conv", inputs, r.output, strides=list(p["stride"]), pads=_pads(p["padding"]),
           dilations=list(p["dilation"]), group=int(p["groups"]),
           kernel_shape=list(r.in_shapes[1][2:]))


@converts(N.BatchNormEval)
def _batch_norm(b, r, x):
    c = r.in_shapes[0][1]
    scale = x[1] if x[1] is not None else b.const(np.ones(c, np.float32))
    bias = x[2] if x[2] is not None else b.const(np.zeros(c, np.float32))
    b.node("BatchNormalization", [x[0], scale, bias, b.const(r.params["running_mean"]),
                                  b.const(r.params["running_var"])], r.output,
           epsilon=float(r.params["eps"]))


@converts(N.LayerNorm)
def _layer_norm(b, r, x):
    if b.opset < 17:
        raise _Unsupported("LayerNormalization needs opset 17 or newer")
    ndim = r.params["ndim"]
    shape = r.in_shapes[0][-ndim:]
    scale = x[1] if x[1] is not None else b.const(np.ones(shape, np.float32))
    inputs = [x[0], scale] + ([x[2]] if x[2] is not None else [])
    b.node("LayerNormalization", inputs, r.output, axis=-ndim, epsilon=float(r.params["eps"]))


_UNARY = {A.Relu: "Relu", A.Sigmoid: "Sigmoid", A.Tanh: "Tanh", A.Hardswish: "HardSwish",
          A.Erf: "Erf", E.Neg: "Neg", E.Abs: "Abs", E.Exp: "Exp", E.Log: "Log", E.Sqrt: "Sqrt",
          E.Reciprocal: "Reciprocal", E.Sin: "Sin", E.Cos: "Cos"}


@converts(*_UNARY)
def _unary(b, r, x):
    b.node(next(name for op, name in _UNARY.items() if issubclass(r.op, op)), [x[0]], r.output)


@converts(A.Hardsigmoid)
def _hardsigmoid(b, r, x):
    b.node("HardSigmoid", [x[0]], r.output, alpha=1.0 / 6.0, beta=0.5)


@converts(A.Silu)
def _silu(b, r, x):
    b.node("Mul", [x[0], b.node("Sigmoid", [x[0]])], r.output)


@converts(A.LeakyRelu)
def _leaky_relu(b, r, x):
    b.node("LeakyRelu", [x[0]], r.output, alpha=float(r.params["slope"]))


def _clip(b, r, x, lo, hi):
    bound = [b.const(np.float32(v)) if v is not None else "" for v in (lo, hi)]
    while bound and bound[-1] == "":
        bound.pop()
    b.node("Clip", [x[0], *bound], r.output)


@converts(A.Hardtanh)
def _hardtanh(b, r, x):
    _clip(b, r, x, r.params["min_val"], r.params["max_val"])


@converts(E.Clamp)
def _clamp(b, r, x):
    _clip(b, r, x, r.params.get("min"), r.params.get("max"))


@converts(A.Threshold)
def _threshold(b, r, x):
    if r.params["threshold"] != 0 or r.params["value"] != 0:
        raise _Unsupported("Threshold other than ReLU's (0, 0)")
    b.node("Relu", [x[0]], r.output)


@converts(A.Gelu)
def _gelu(b, r, x):
    if r.params["approximate"] == "none":
        inner = b.node("Erf", [b.node("Mul", [x[0], b.const(np.float32(1 / math.sqrt(2)))])])
    else:  # tanh(sqrt(2/pi) * (x + 0.044715 x^3))
        cube = b.node("Mul", [b.node("Mul", [x[0], x[0]]), x[0]])
        poly = b.node("Add", [x[0], b.node("Mul", [cube, b.const(np.float32(0.044715))])])
        inner = b.node("Tanh", [b.node("Mul", [poly, b.const(np.float32(math.sqrt(2 / math.pi)))])])
    half_x = b.node("Mul", [x[0], b.const(np.float32(0.5))])
    b.node("Mul", [half_x, b.node("Add", [inner, b.const(np.float32(1.0))])], r.output)


@converts(Softmax, LogSoftmax)
def _softmax(b, r, x):
    b.node("LogSoftmax" if issubclass(r.op, LogSoftmax) else "Softmax", [x[0]], r.output,
           axis=int(r.params["axis"]))


def _operand(b, name, dtype):
    # a constant operand takes the op's result dtype (a Python number arrives as float64)
    if name is not None and b.is_const(name):
        return b.const(np.asarray(b.const_value(name), dtype=dtype))
    return name


_BINARY = {E.Add: "Add", E.Sub: "Sub", E.Mul: "Mul", E.Div: "Div", E.Maximum: "Max",
           E.Minimum: "Min", E.Pow: "Pow"}


@converts(*_BINARY)
def _binary(b, r, x):
    dtype = np.float32 if np.dtype(r.params["dtype"]).kind == "f" else r.params["dtype"]
    lhs, rhs = (_operand(b, n, dtype) for n in x[:2])
    alpha = r.params.get("alpha", 1)
    if alpha != 1:
        rhs = b.node("Mul", [rhs, b.const(np.asarray(alpha, dtype=dtype))])
    op_type = next(name for op, name in _BINARY.items() if issubclass(r.op, op))
    b.node(op_type, [lhs, rhs], r.output)


@converts(E.PowScalar)
def _pow_scalar(b, r, x):
    b.node("Pow", [x[0], b.const(np.float32(r.params["exponent"]))], r.output)


@converts(E.Clone, E.Alias, I.IndexAlias)
def _identity(b, r, x):
    b.alias[r.output] = x[0]


@converts(E.ToCopy)
def _to_copy(b, r, x):
    dtype = np.dtype(r.params["dtype"])
    if dtype.kind == "f":
        b.alias[r.output] = x[0]  # the graph computes in float32 throughout
    else:
        import onnx
        b.node("Cast", [x[0]], r.output, to=onnx.helper.np_dtype_to_tensor_dtype(dtype))


def _pool_attrs(p):
    return dict(kernel_shape=list(p["kernel_size"]), strides=list(p["stride"]),
                pads=_pads(p["padding"]), ceil_mode=int(bool(p["ceil_mode"])))


@converts(P.MaxPool2d)
def _max_pool(b, r, x):
    b.node("MaxPool", [x[0]], r.output, dilations=list(r.params["dilation"]),
           **_pool_attrs(r.params))


@converts(P.AvgPool2d)
def _avg_pool(b, r, x):
    kernel, stride, padding, ceil_mode, count_include_pad, divisor = r.params["params"]
    if divisor is not None:
        raise _Unsupported("avg_pool2d with divisor_override")
    b.node("AveragePool", [x[0]], r.output, count_include_pad=int(bool(count_include_pad)),
           **_pool_attrs(dict(kernel_size=kernel, stride=stride, padding=padding,
                              ceil_mode=ceil_mode)))


def _adaptive_weights(size, out):
    """(size, out) matrix averaging PyTorch's adaptive windows [floor(i*size/out),
    ceil((i+1)*size/out))."""
    m = np.zeros((size, out))
    for i in range(out):
        lo, hi = (i * size) // out, -((-(i + 1) * size) // out)
        m[lo:hi, i] = 1.0 / (hi - lo)
    return m


@converts(P.AdaptiveAvgPool2d, P.AdaptiveMaxPool2d)
def _adaptive_pool(b, r, x):
    avg = issubclass(r.op, P.AdaptiveAvgPool2d)
    (h, w), (oh, ow) = r.in_shapes[0][2:], r.out_shape[2:]
    if (oh, ow) == (1, 1):
        b.node("GlobalAveragePool" if avg else "GlobalMaxPool", [x[0]], r.output)
    elif h % oh == 0 and w % ow == 0:  # equal windows: a plain pool
        k = [h // oh, w // ow]
        b.node("AveragePool" if avg else "MaxPool", [x[0]], r.output, kernel_shape=k, strides=k)
    elif avg:  # uneven or overlapping windows: a fixed linear map of each H x W plane
        weights = np.kron(_adaptive_weights(h, oh), _adaptive_weights(w, ow)).astype(np.float32)
        flat = b.node("Reshape", [x[0], b.ints([0, 0, h * w])])
        pooled = b.node("MatMul", [flat, b.const(weights)])
        b.node("Reshape", [pooled, b.ints([0, 0, oh, ow])], r.output)
    else:
        raise _Unsupported(f"adaptive max pooling from {h}x{w} to {oh}x{ow} (uneven windows)")


@converts(S.View, S.Reshape, S.Squeeze, S.SqueezeAll, S.SqueezeDims, S.Unsqueeze,
          I.IndexUnsqueeze)
def _reshape(b, r, x):
    shape = list(r.out_shape)
    dynamic = [i for i, d in enumerate(r.out_dynamic) if d]
    if len(dynamic) > 1:
        raise _Unsupported(f"a reshape to {shape} with {len(dynamic)} sizes that follow the "
                           "batch")
    if dynamic:
        shape[dynamic[0]] = -1  # the one size that follows the batch: inferred
    b.node("Reshape", [x[0], b.ints(shape)], r.output)


@converts(S.Expand)
def _expand(b, r, x):
    shape = list(r.out_shape)
    if any(r.out_dynamic[1:]):
        raise _Unsupported("an expand along a dimension other than the batch")
    if r.out_dynamic and r.out_dynamic[0]:
        if r.in_shapes[0][0] == shape[0]:
            shape[0] = 1  # the input already has the batch: broadcasting keeps it
        elif shape[0] == b.batch:  # e.g. a class token expanded to the batch
            b.node("Expand", [x[0], b.shape_with_batch(shape)], r.output)
            return
        else:
            raise _Unsupported(f"an expand to {shape} whose first size follows the batch")
    b.node("Expand", [x[0], b.ints(shape)], r.output)


@converts(S.Permute, S.Transpose, S.T)
def _permute(b, r, x):
    dims = r.params["dims"]
    ndim = len(r.in_shapes[0])
    b.node("Transpose", [x[0]], r.output, perm=[int(d) % ndim for d in dims])


@converts(S.Roll)
def _roll(b, r, x):
    shifts, dims = r.params["shifts"], r.params["dims"]
    shape = r.in_shapes[0]
    if dims is None or dims == ():
        raise _Unsupported("roll of the flattened tensor")
    value = x[0]
    for shift, dim in zip(np.atleast_1d(shifts), np.atleast_1d(dims)):
        dim = int(dim) % len(shape)
        n = shape[dim]
        s = int(shift) % n
        if s:  # the last s entries first
            tail = b.node("Slice", [value, b.ints([n - s]), b.ints([n]), b.ints([dim])])
            head = b.node("Slice", [value, b.ints([0]), b.ints([n - s]), b.ints([dim])])
            value = b.node("Concat", [tail, head], axis=dim)
    b.node("Identity", [value], r.output)


@converts(S.Cat)
def _cat(b, r, x):
    b.node("Concat", [n for n in x if n is not None], r.output, axis=int(r.params["dim"]))


@converts(R.Mean, R.Sum)
def _reduce(b, r, x):
    ndim = len(r.in_shapes[0])
    axes = r.params["axes"]
    axes = list(range(ndim)) if axes is None else [int(a) % ndim for a in np.atleast_1d(axes)]
    op_type = "ReduceMean" if issubclass(r.op, R.Mean) else "ReduceSum"
    keep = int(bool(r.params["keepdim"]))
    if op_type == "ReduceSum" or b.opset >= 18:
        b.node(op_type, [x[0], b.ints(axes)], r.output, keepdims=keep)
    else:
        b.node(op_type, [x[0]], r.output, axes=axes, keepdims=keep)


@converts(L.Linear)
def _linear(b, r, x):
    if len(r.in_shapes[0]) == 2:
        inputs = [x[0], x[1]] + ([x[2]] if x[2] is not None else [])
        b.node("Gemm", inputs, r.output, transB=1)
        return
    weight_t = b.node("Transpose", [x[1]], perm=[1, 0])
    if x[2] is None:
        b.node("MatMul", [x[0], weight_t], r.output)
    else:
        b.node("Add", [b.node("MatMul", [x[0], weight_t]), x[2]], r.output)


@converts(L.MatMul)
def _matmul(b, r, x):
    b.node("MatMul", x[:2], r.output)


@converts(ConstantPad)
def _pad(b, r, x):
    pad = list(r.params["pad"])
    ndim = len(r.in_shapes[0])
    begin, end = [0] * ndim, [0] * ndim
    for i in range(len(pad) // 2):  # torch lists (begin, end) pairs from the last dim back
        begin[ndim - 1 - i], end[ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    b.node("Pad", [x[0], b.ints(begin + end), b.const(np.float32(r.params["value"]))],
           r.output, mode="constant")


@converts(I.Index, I.Slice, I.Select)
def _index(b, r, x):
    key = r.params["key"]
    if not r.params["basic"]:
        raise _Unsupported("advanced indexing")
    shape = r.in_shapes[0]
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    expanded = []
    for k in key:
        expanded.extend([slice(None)] * (len(shape) - n_real) if k is Ellipsis else [k])
    expanded.extend([slice(None)] * (len(shape) - sum(k is not None for k in expanded)))
    starts, ends, axes, steps, picks, news = [], [], [], [], [], []
    dim = out_dim = 0
    for k in expanded:
        if k is None:
            news.append(out_dim)
            out_dim += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                start, stop, step = k.indices(shape[dim])
                starts.append(start)
                ends.append(_INT64_MAX if k.stop is None else stop)
                axes.append(dim)
                steps.append(step)
            out_dim += 1
        else:
            picks.append((dim, int(k) % shape[dim]))
        dim += 1
    value = x[0]
    if axes:
        value = b.node("Slice", [value, b.ints(starts), b.ints(ends), b.ints(axes),
                                 b.ints(steps)])
    for axis, index in reversed(picks):
        value = b.node("Gather", [value, b.const(np.int64(index))], axis=axis)
    if news:
        value = b.node("Unsqueeze", [value, b.ints(news)])
    b.node("Identity", [value], r.output)


class _Unsupported(Exception):
    """A supported op used in a way the ONNX translation does not cover."""
