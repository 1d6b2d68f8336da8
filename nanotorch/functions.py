"""The ``nanotorch.*`` tensor functions (also bound as Tensor methods): argument handling,
dtype promotion and broadcasting checks in front of the ops in ``ops/``."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from . import _bfloat16, _dtype
from ._dtype import result_type
from .autograd.grad_mode import is_grad_enabled
from .ops import activation as A
from .ops import elementwise as E
from .ops import indexing as I
from .ops import linalg as L
from .ops import reduction as R
from .ops import shape as S
from .ops import softmax as SM
from .ops.registry import COPY, GENERATED, INTO_SELF, register
from .tensor import Size, Tensor

_Number = (int, float, bool, np.number, np.bool_)


def _as_tensor(x, dtype: _dtype.dtype) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._wrap(np.asarray(x, dtype=dtype.np))


def _operand(x):
    """A binary op's operand: a Tensor or a number (NumPy arrays become tensors)."""
    if isinstance(x, (Tensor, _Number)):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    raise TypeError(f"unsupported operand type for a tensor operation: {type(x).__name__}")


def _check_broadcast(a, b):
    sa, sb = a._array.shape, b._array.shape
    if sa == sb:
        return
    for i in range(1, builtins.min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            dim = builtins.max(len(sa), len(sb)) - i
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {dim}")


def _castable(t, dt):
    """``t`` itself when NumPy can compute in ``dt`` from it, else ``t`` converted (e.g. a
    0-dim int64 operand of a uint8 op, which NumPy will not narrow implicitly)."""
    if t._array.dtype is dt.np or np.can_cast(t._array.dtype, dt.np, "same_kind"):
        return t
    return t.to(dt)


def _binary(op, a, b, out_dtype=None, **params):
    a, b = _operand(a), _operand(b)
    rdt = result_type(a, b)
    cdt = out_dtype or rdt
    ta, tb = _castable(_as_tensor(a, rdt), cdt), _castable(_as_tensor(b, rdt), cdt)
    _check_broadcast(ta, tb)
    try:
        return op.apply(ta, tb, dtype=cdt.np, **params)
    except TypeError:
        if _dtype.bfloat16 in (ta.dtype, tb.dtype):
            raise TypeError("bfloat16 tensors are for storage and conversion in nanotorch; "
                            "compute with .float() and convert back") from None
        raise


def _float_dtype(*xs):
    rdt = result_type(*xs)
    return rdt if rdt.is_floating_point else _dtype.get_default_dtype()


# Arithmetic --------------------------------------------------------------------------
@register(inplace=INTO_SELF)
def add(input, other, *, alpha=1, _out=None):
    """``input + alpha * other`` with broadcasting and type promotion."""
    return _binary(E.Add, input, other, alpha=alpha, out=_out)


@register(inplace=INTO_SELF, aliases=("subtract",))
def sub(input, other, *, alpha=1, _out=None):
    if _dtype_of(input) is _dtype.bool_ or _dtype_of(other) is _dtype.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    op = E.Rsub if not isinstance(input, Tensor) else E.Sub
    return _binary(op, input, other, alpha=alpha, out=_out)


@register(inplace=COPY, aliases=("multiply",))
def mul(input, other):
    return _binary(E.Mul, input, other)


@register(inplace=COPY, aliases=("divide", "true_divide"))
def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return _binary(E.Div, input, other, out_dtype=_float_dtype(input, other))
    if rounding_mode == "trunc":
        q = _binary(E.Div, input, other, out_dtype=_float_dtype(input, other)).detach()
        return Tensor._wrap(np.trunc(q._array).astype(result_type(input, other).np))
    if rounding_mode == "floor":
        return floor_divide(input, other)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{rounding_mode}'")


def _dtype_of(x):
    return x.dtype if isinstance(x, Tensor) else result_type(x)


def _nograd_binary(fn, a, b, dtype=None):
    a, b = _operand(a), _operand(b)
    rdt = result_type(a, b)
    ta, tb = _as_tensor(a, rdt), _as_tensor(b, rdt)
    _check_broadcast(ta, tb)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = fn(ta._array.astype(rdt.np, copy=False), tb._array.astype(rdt.np, copy=False))
    return Tensor._wrap(np.asarray(out).astype(dtype.np if dtype else rdt.np, copy=False))


@register(inplace=COPY)
def floor_divide(input, other):
    return _nograd_binary(np.floor_divide, input, other)


@register(inplace=COPY)
def remainder(input, other):
    return _nograd_binary(np.remainder, input, other)


@register(inplace=COPY)
def fmod(input, other):
    return _nograd_binary(np.fmod, input, other)


@register(inplace=COPY)
def pow(input, exponent):
    if isinstance(exponent, _Number) and isinstance(input, Tensor):
        rdt = result_type(input, exponent)
        if not rdt.is_floating_point and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if rdt is not input.dtype:
            input = input.to(rdt)
        return E.PowScalar.apply(input, exponent=exponent, dtype=rdt.np)
    return _binary(E.Pow if isinstance(input, Tensor) else E.RPow, input, exponent)


@register(inplace=COPY, aliases=("negative",))
def neg(input):
    if input.dtype is _dtype.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return E.Neg.apply(input)


# exp, log, sqrt, sin, cos, tanh, sigmoid, erf...: written from their op classes by
# ``@float_unary`` in ops/elementwise.py and ops/activation.py
globals().update(GENERATED)


@register
def log2(input):
    return input.log() / float(np.log(2.0))


@register
def log10(input):
    return input.log() / float(np.log(10.0))


@register
def expm1(input):
    return input.exp() - 1.0


@register(inplace=COPY)
def square(input):
    return pow(input, 2)


@register(inplace=COPY, aliases=("absolute",))
def abs(input):
    if input.dtype is _dtype.bool_:
        raise RuntimeError("abs is not implemented for bool tensors")
    return E.Abs.apply(input)


@register(inplace=INTO_SELF)
def relu(input, _out=None):
    if input.dtype is _dtype.bool_:
        raise RuntimeError("relu is not implemented for bool tensors")
    return A.Relu.apply(input, out=_out)


@register(inplace=COPY)
def sign(input):
    return Tensor._wrap(np.sign(input._array))


def _nograd_unary(npfn):
    def fn(input):
        return Tensor._wrap(npfn(input._array))
    fn.__name__ = npfn.__name__
    return fn


floor = register(_nograd_unary(np.floor), inplace=COPY)
ceil = register(_nograd_unary(np.ceil), inplace=COPY)
trunc = register(_nograd_unary(np.trunc), inplace=COPY)
isnan = register(_nograd_unary(np.isnan))
isinf = register(_nograd_unary(np.isinf))
isfinite = register(_nograd_unary(np.isfinite))


@register(inplace=COPY)
def round(input, decimals=0):
    return Tensor._wrap(np.round(input._array, decimals))


@register(inplace=COPY, aliases=("clip",))
def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        rdt = result_type(input, min, max)
        lo = None if min is None else _as_tensor(min, rdt)
        hi = None if max is None else _as_tensor(max, rdt)
        return E.ClampTensor.apply(input, lo, hi, dtype=rdt.np)
    return _clamp_scalar(E.Clamp, input, min, max)


@register(inplace=COPY)
def clamp_min(input, min):
    return _clamp_scalar(E.ClampMin, input, min, None)


@register(inplace=COPY)
def clamp_max(input, max):
    return _clamp_scalar(E.ClampMax, input, None, max)


def _clamp_scalar(op, input, lo, hi):
    rdt = result_type(input, lo, hi)
    if rdt is not input.dtype:
        input = input.to(rdt)
    return op.apply(input, min=lo, max=hi)


@register(inplace=COPY)
def maximum(input, other):
    return _binary(E.Maximum, input, other)


@register(inplace=COPY)
def minimum(input, other):
    return _binary(E.Minimum, input, other)


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition.dtype is not _dtype.bool_:
        condition = condition.to(_dtype.bool_)
    rdt = result_type(input, other)
    ta, tb = _as_tensor(input, rdt), _as_tensor(other, rdt)
    return E.Where.apply(condition, ta, tb, dtype=rdt.np)


@register(inplace=COPY)
def masked_fill(input, mask, value):
    if mask.dtype is not _dtype.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        return E.MaskedFillTensor.apply(input, mask, value.to(input.dtype))
    return E.MaskedFill.apply(input, mask, None, value=value)


def _compare(npfn):
    def fn(input, other):
        if other is None and npfn in (np.equal, np.not_equal):
            return npfn is np.not_equal  # `x == None` is a plain False, as in PyTorch
        return _nograd_binary(npfn, input, other, dtype=_dtype.bool_)
    fn.__name__ = npfn.__name__
    return fn


eq = register(_compare(np.equal), name="eq")
ne = register(_compare(np.not_equal), name="ne", aliases=("not_equal",))
lt = register(_compare(np.less), name="lt", aliases=("less",))
le = register(_compare(np.less_equal), name="le")
gt = register(_compare(np.greater), name="gt", aliases=("greater",))
ge = register(_compare(np.greater_equal), name="ge")
logical_and = register(_compare(np.logical_and))
logical_or = register(_compare(np.logical_or))
logical_xor = register(_compare(np.logical_xor))
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


@register(inplace=COPY)
def logical_not(input):
    return Tensor._wrap(np.logical_not(input._array))


def _bitwise(npfn, name):
    def fn(input, other):
        for x in (input, other):
            if _dtype_of(x).is_floating_point:
                raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float'")
        return _nograd_binary(npfn, input, other)
    fn.__name__ = name
    return fn


bitwise_and = register(_bitwise(np.bitwise_and, "bitwise_and"))
bitwise_or = register(_bitwise(np.bitwise_or, "bitwise_or"))
bitwise_xor = register(_bitwise(np.bitwise_xor, "bitwise_xor"))


@register
def bitwise_not(input):
    if input.is_floating_point():
        raise RuntimeError("bitwise_not is only supported for integer and boolean tensors")
    return Tensor._wrap(np.invert(input._array))


@register
def equal(input, other) -> bool:
    return input.shape == other.shape and bool(np.array_equal(input._array, other._array))


@register
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(input._array, other._array, rtol=rtol, atol=atol, equal_nan=equal_nan))


@register
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return Tensor._wrap(np.isclose(input._array, _as_tensor(other, input.dtype)._array,
                                   rtol=rtol, atol=atol, equal_nan=equal_nan))


# Reductions --------------------------------------------------------------------------
def _reduce_dims(dim, ndim):
    """Axes of a reduction: ``None`` and ``()`` both mean every dim, as in PyTorch."""
    return R.normalize_dims(None if dim == () else dim, ndim)


@register
def sum(input, dim=None, keepdim=False, *, dtype=None):
    axes = _reduce_dims(dim, input.ndim)
    if dtype is not None:
        input = input.to(_dtype.to_dtype(dtype))
    elif not input.is_floating_point():
        input = input.to(_dtype.int64)
    return (R.Sum if dim is None else R.SumDim).apply(input, axes=axes, keepdim=keepdim)


@register
def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = input.to(_dtype.to_dtype(dtype))
    if not input.is_floating_point():
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype.name.capitalize()}")
    return (R.Mean if dim is None else R.MeanDim).apply(input, axes=_reduce_dims(dim, input.ndim),
                                                        keepdim=keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return int(correction)
    return 1 if unbiased in (None, True) else 0


def _var_std(op, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(x, False) is the old unbiased= positional form
        dim, unbiased = None, dim
    if not input.is_floating_point():
        raise RuntimeError(f"std and var only support floating point and complex dtypes, got "
                           f"{input.dtype}")
    return op.apply(input, axes=_reduce_dims(dim, input.ndim),
                    correction=_correction(unbiased, correction), keepdim=keepdim)


@register
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_std(R.Var, input, dim, unbiased, keepdim, correction)


@register
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_std(R.Std, input, dim, unbiased, keepdim, correction)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


@register
def prod(input, dim=None, keepdim=False, *, dtype=None):
    if input.requires_grad and is_grad_enabled():
        # d prod / d x_i = prod / x_i (no zeros) -- expressed with differentiable ops
        axes = R.normalize_dims(dim, input.ndim)
        out = input.abs().log().sum(dim=axes, keepdim=True).exp()
        sgn = Tensor._wrap(np.prod(np.sign(input._array), axis=axes, keepdims=True))
        if (input._array == 0).any():
            raise NotImplementedError("gradient of prod() for inputs containing zeros is not "
                                      "implemented")
        out = out * sgn
        return out if keepdim else out.squeeze(axes) if axes else out
    axis = None if dim is None else dim
    return Tensor._wrap(np.asarray(np.prod(input._array, axis=axis, keepdims=keepdim)))


@register
def amax(input, dim=(), keepdim=False):
    return R.Amax.apply(input, axes=_reduce_dims(dim, input.ndim), keepdim=keepdim)


@register
def amin(input, dim=(), keepdim=False):
    return R.Amin.apply(input, axes=_reduce_dims(dim, input.ndim), keepdim=keepdim)


class _MinMax(namedtuple("_MinMax", ["values", "indices"])):
    __slots__ = ()

    def __repr__(self):  # PyTorch's layout: one field per line
        fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{fields})"


class return_types:
    max = type("max", (_MinMax,), {"__slots__": ()})
    min = type("min", (_MinMax,), {"__slots__": ()})
    sort = type("sort", (_MinMax,), {"__slots__": ()})
    topk = type("topk", (_MinMax,), {"__slots__": ()})


def _extreme(input, dim, keepdim, other, npfn, argfn, all_op, dim_op, result_type_):
    if isinstance(dim, Tensor):
        other = dim
    if other is not None:
        return (maximum if npfn is np.max else minimum)(input, other)
    if dim is None:
        return all_op.apply(input, axes=tuple(range(input.ndim)), keepdim=False)
    d = R.normalize_dims(dim, input.ndim)
    axis = d[0] if d else 0
    arr = input._array if input.ndim else input._array.reshape(1)
    if arr.shape[axis] == 0:
        raise IndexError(f"{npfn.__name__}(): Expected reduction dim {dim} to have non-zero size.")
    idx = np.expand_dims(argfn(arr, axis=axis), axis)
    values = dim_op.apply(input, index=idx, dim=axis, keepdim=keepdim)
    return result_type_(values, Tensor._wrap(idx.reshape(values.shape).astype(np.int64)))


@register
def max(input, dim=None, keepdim=False, *, other=None):
    return _extreme(input, dim, keepdim, other, np.max, np.argmax, R.MaxAll, R.MaxDim,
                    return_types.max)


@register
def min(input, dim=None, keepdim=False, *, other=None):
    return _extreme(input, dim, keepdim, other, np.min, np.argmin, R.MinAll, R.MinDim,
                    return_types.min)


@register
def argmax(input, dim=None, keepdim=False):
    if dim is None:
        out = np.argmax(input._array)
        shape = (1,) * input.ndim if keepdim else ()
        return Tensor._wrap(np.asarray(out, dtype=np.int64).reshape(shape))
    axis = R.normalize_dims(dim, input.ndim)
    axis = axis[0] if axis else 0
    arr = input._array if input.ndim else input._array.reshape(1)
    keep = keepdim and input.ndim > 0
    return Tensor._wrap(np.argmax(arr, axis=axis, keepdims=keep).astype(np.int64))


@register
def argmin(input, dim=None, keepdim=False):
    return argmax(-input if input.dtype is not _dtype.bool_ else ~input, dim, keepdim)


@register
def logsumexp(input, dim, keepdim=False):
    if not input.is_floating_point():
        input = input.to(_dtype.get_default_dtype())
    return R.LogSumExp.apply(input, axes=R.normalize_dims(dim, input.ndim), keepdim=keepdim)


@register
def all(input, dim=None, keepdim=False):
    axis = None if dim is None else R.normalize_dims(dim, input.ndim)
    return Tensor._wrap(np.asarray(np.all(input._array, axis=axis, keepdims=keepdim)))


@register
def any(input, dim=None, keepdim=False):
    axis = None if dim is None else R.normalize_dims(dim, input.ndim)
    return Tensor._wrap(np.asarray(np.any(input._array, axis=axis, keepdims=keepdim)))


@register
def count_nonzero(input, dim=None):
    return Tensor._wrap(np.asarray(np.count_nonzero(input._array, axis=dim), dtype=np.int64))


@register
def sort(input, dim=-1, descending=False, stable=False):
    arr = input._array
    if descending:  # negate to keep ties in order; widen first so uint8/bool negate safely
        arr = -(arr.astype(np.int64) if arr.dtype.kind in "bu" else arr)
    idx = np.argsort(arr, axis=dim, kind="stable")
    return return_types.sort(gather(input, dim, Tensor._wrap(idx)),
                             Tensor._wrap(idx.astype(np.int64)))


@register
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


@register
def topk(input, k, dim=-1, largest=True, sorted=True):
    s = sort(input, dim, descending=largest)
    return return_types.topk(s.values.narrow(dim, 0, k), s.indices.narrow(dim, 0, k))


@register
def softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(_dtype.to_dtype(dtype))
    elif not input.is_floating_point():
        input = input.to(_dtype.get_default_dtype())
    return SM.Softmax.apply(input, axis=_one_dim(dim, input.ndim))


@register
def log_softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(_dtype.to_dtype(dtype))
    elif not input.is_floating_point():
        input = input.to(_dtype.get_default_dtype())
    return SM.LogSoftmax.apply(input, axis=_one_dim(dim, input.ndim))


def _one_dim(dim, ndim):
    if dim is None:
        raise TypeError("softmax() missing the required argument 'dim'")
    d = R.normalize_dims(dim, ndim)
    return d[0] if d else 0


# Matrix products -----------------------------------------------------------------------
@register
def matmul(input, other):
    """``input @ other`` with NumPy/PyTorch matmul semantics (1-D, 2-D, batched)."""
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{input.ndim}D and {other.ndim}D")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{input.dtype} != {other.dtype}")
    k_a = input.shape[-1]
    k_b = other.shape[-2] if other.ndim > 1 else other.shape[0]
    if k_a != k_b:
        sa = input.shape[-2:] if input.ndim > 1 else (1,) + tuple(input.shape)
        sb = other.shape[-2:] if other.ndim > 1 else tuple(other.shape) + (1,)
        raise L.matmul_shape_error(sa, sb)
    if input.ndim > 2 or other.ndim > 2:
        try:
            np.broadcast_shapes(input.shape[:-2], other.shape[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions of {list(input.shape)} and "
                               f"{list(other.shape)} cannot be broadcast") from None
    return L.matmul_op(input.ndim, other.ndim).apply(input, other)


@register
def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input.ndim}D and {mat2.ndim}D")
    return matmul(input, mat2)


@register
def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{input.dtype} != {mat2.dtype}")
    if input.shape[2] != mat2.shape[1]:
        raise L.matmul_shape_error(input.shape[1:], mat2.shape[1:])
    return L.Bmm.apply(input, mat2)


@register
def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


@register
def mv(input, vec):
    return matmul(input, vec)


@register
def outer(input, vec2):
    return input.unsqueeze(1) * vec2.unsqueeze(0)


@register
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    prod_ = mm(mat1, mat2)
    if alpha != 1:
        prod_ = prod_ * alpha
    return (input * beta if beta != 1 else input) + prod_


# Shapes --------------------------------------------------------------------------------
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer_shape(shape, numel):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _view(input, op, **params):
    """Apply a view op and mark the result as a view of ``input``'s base, remembering how
    to replay it on the base (needed when the view is later modified in place)."""
    out = op.apply(input, **params)
    parent = input.__dict__.get("_view_fn") if input._base is not None else None

    def replay(root):
        return op.apply(parent(root) if parent is not None else root, **params)

    out._base = input._base if input._base is not None else input
    out._version_box = input._version_box
    out.__dict__["_view_fn"] = replay
    return out


@register
def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        raise NotImplementedError("view(dtype) is not supported")
    shape = _infer_shape(_shape_arg(shape), input.numel())
    return _view(input, S.View, shape=shape)


@register
def reshape(input, *shape):
    shape = _infer_shape(_shape_arg(shape), input.numel())
    if shape == input._array.shape:
        return _view(input, S.View, shape=shape)
    try:
        return view(input, shape)
    except RuntimeError:
        return S.Reshape.apply(input, shape=shape)


@register
def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, 1)
    s, e = input._dim(start_dim), input._dim(end_dim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input.shape
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, tuple(shape[:s]) + (n,) + tuple(shape[e + 1:]))


@register
def unflatten(input, dim, sizes):
    d = input._dim(dim)
    shape = input.shape
    return reshape(input, tuple(shape[:d]) + tuple(sizes) + tuple(shape[d + 1:]))


@register
def squeeze(input, dim=None):
    shape = input._array.shape
    if dim is None:
        new, op = tuple(s for s in shape if s != 1), S.SqueezeAll
    else:
        dims = R.normalize_dims(dim, input.ndim)
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        op = S.Squeeze if isinstance(dim, (int, np.integer)) else S.SqueezeDims
    return _view(input, op, shape=new)


@register
def unsqueeze(input, dim):
    nd = input.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                         f"but got {dim})")
    dim %= nd
    shape = input._array.shape
    return _view(input, S.Unsqueeze, shape=shape[:dim] + (1,) + shape[dim:])


@register
def permute(input, *dims):
    dims = _shape_arg(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {input.ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(input._dim(d) for d in dims)
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _view(input, S.Permute, dims=dims)


@register(aliases=("swapaxes", "swapdims"))
def transpose(input, dim0, dim1):
    if input.ndim == 0:
        return input
    d0, d1 = input._dim(dim0), input._dim(dim1)
    dims = list(range(input.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _view(input, S.Transpose, dims=tuple(dims))


swapaxes = swapdims = transpose


@register
def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    if input.ndim < 2:
        return input
    return _view(input, S.T, dims=(1, 0))


def _T(input):
    return permute(input, tuple(range(input.ndim))[::-1]) if input.ndim >= 2 else input


def _mT(input):
    if input.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {input.ndim}-D tensor.")
    return transpose(input, -2, -1)


@register
def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    shape = input._array.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(sizes)}): the "
                           f"number of sizes provided ({len(sizes)}) must be greater or equal to "
                           f"the number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = cur
        elif cur is not None and cur != s and cur != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return input
    return _view(input, S.Expand, shape=target)


@register
def expand_as(input, other):
    return expand(input, other.shape)


@register
def broadcast_to(input, size):
    return expand(input, size)


@register
def sum_to_size(input, *size):
    size = _shape_arg(size)
    if tuple(size) == input._array.shape:
        return input
    return R.SumToSize.apply(input, shape=tuple(size))


@register
def repeat(input, *repeats):
    repeats = _shape_arg(repeats)
    if len(repeats) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    return S.Repeat.apply(input, repeats=repeats)


@register
def contiguous(input, memory_format=None):
    if input._array.flags.c_contiguous:
        return input
    return E.Clone.apply(input)


@register
def clone(input, memory_format=None):
    return E.Clone.apply(input)


@register
def flip(input, dims):
    if isinstance(dims, int):
        dims = (dims,)
    return S.Flip.apply(input, dims=R.normalize_dims(dims, input.ndim))


@register
def roll(input, shifts, dims=None):
    """Shift elements along ``dims`` by ``shifts``, wrapping around (no dims: the flattened
    tensor, reshaped back)."""
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = () if dims is None else (dims,) if isinstance(dims, (int, np.integer)) else \
        tuple(dims)
    if not dims and len(shifts) == 1:
        return S.Roll.apply(input, shifts=(int(shifts[0]),), dims=None)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    dims = tuple(input._dim(d) for d in dims)
    return S.Roll.apply(input, shifts=tuple(int(s) for s in shifts), dims=dims)


def _cat_check(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected a sequence of Tensors, got {type(t).__name__}")
    return tensors


def cat(tensors, dim=0):
    tensors = _cat_check(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    ref = next((t for t in tensors if not (t.ndim == 1 and t.numel() == 0)), tensors[0])
    d = ref._dim(dim)
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.numel() == 0:
            continue  # 1-D empty tensors are skipped, as in PyTorch
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and "
                               f"{t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref.shape[k]} but got size {t.shape[k]} for "
                                   f"tensor number {i} in the list.")
    rdt = result_type(*[t for t in tensors])
    return S.Cat.apply(*tensors, dim=d, dtype=rdt.np)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = _cat_check(tensors, "stack")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    nd = len(shape) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                         f"but got {dim})")
    rdt = result_type(*tensors)
    return S.Stack.apply(*tensors, dim=dim % nd, dtype=rdt.np)


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.unsqueeze(0) if t.ndim == 1 else t for t in tensors], 0)


@register
def narrow(input, dim, start, length):
    d = input._dim(dim)
    size = input.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    start %= builtins.max(size, 1)
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    key = (slice(None),) * d + (slice(start, start + length),)
    return _index(input, key, I.Slice)


@register
def select(input, dim, index):
    d = input._dim(dim)
    size = input.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    key = (slice(None),) * d + (index,)
    return _index(input, key, I.Select)


@register
def split(tensor, split_size_or_sections, dim=0):
    d = tensor._dim(dim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sizes = [builtins.min(step, size - s) for s in range(0, size, step)] if size else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


@register
def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = input.shape[input._dim(dim)]
    step = -(-size // chunks) if size else 1
    return split(input, step, dim)


@register
def unbind(input, dim=0):
    d = input._dim(dim)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


@register
def tensor_split(input, indices_or_sections, dim=0):
    d = input._dim(dim)
    size = input.shape[d]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        sizes = [size // n + (1 if i < size % n else 0) for i in range(n)]
        return split(input, sizes, d)
    bounds = [0] + list(indices_or_sections) + [size]
    return tuple(narrow(input, d, bounds[i], builtins.max(bounds[i + 1] - bounds[i], 0))
                 for i in range(len(bounds) - 1))


@register
def gather(input, dim, index):
    if index.dtype is not _dtype.int64:
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype}")
    d = input._dim(dim)
    if index.ndim != input.ndim and index.numel():
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input "
                           f"tensor ({index.ndim} vs {input.ndim})")
    for k, (n, m) in enumerate(zip(index.shape, input.shape)):
        if k != d and n > m:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be smaller than self {list(input.shape)} "
                               f"apart from dimension {d}")
    if index.numel():
        lo, hi = int(index._array.min()), int(index._array.max())
        size = input.shape[d] if input.ndim else 1
        if lo < 0 or hi >= size:
            raise RuntimeError(f"index {hi if hi >= size else lo} is out of bounds for "
                               f"dimension {d} with size {size}")
    return R.Gather.apply(input, index=index._array, dim=d)


@register
def index_select(input, dim, index):
    d = input._dim(dim)
    if index.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got "
                         f"{index.ndim}-D")
    key = (slice(None),) * d + (index._array.reshape(-1),)
    return _index(input, key, I.IndexSelect, basic=False)


@register
def take_along_dim(input, indices, dim):
    return gather(input, dim, indices)


@register
def nonzero(input, *, as_tuple=False):
    idx = np.nonzero(input._array)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    return Tensor._wrap(np.stack(idx, axis=1).astype(np.int64) if idx else
                        np.zeros((0, 0), np.int64))


@register
def masked_select(input, mask):
    return input[mask.expand_as(input) if mask.shape != input.shape else mask]


@register
def tril(input, diagonal=0):
    mask = np.tril(np.ones(input.shape[-2:], dtype=bool), diagonal)
    return where(Tensor._wrap(mask), input, 0)


@register
def triu(input, diagonal=0):
    mask = np.triu(np.ones(input.shape[-2:], dtype=bool), diagonal)
    return where(Tensor._wrap(mask), input, 0)


# Indexing -------------------------------------------------------------------------------
def _index(input, key, op=None, basic=None):
    if basic is None:
        key, basic = I.normalize_key(key, input._array.shape)
    if op is None:
        op = I.basic_op(key, input._array.shape) if basic else I.Index
    if basic:
        return _view(input, op, key=key, basic=basic)
    return op.apply(input, key=key, basic=basic)


def getitem(input, key):
    return _index(input, key)


def setitem(input, key, value):
    key, basic = I.normalize_key(key, input._array.shape)
    if isinstance(value, Tensor):
        value_t = value
    else:
        value_t = Tensor._wrap(np.asarray(value, dtype=input._array.dtype))
    track = input._check_inplace_allowed((value_t,))
    try:
        if not track:
            input._array[key] = value_t._array
            input._bump_version()
            return
        if value_t.dtype is not input.dtype:
            value_t = value_t.to(input.dtype)
        op = I.setitem_op(key, basic, input._array.shape)
        out = op.apply(input, value_t, key=key, basic=basic)
    except ValueError as e:  # NumPy's broadcast failure
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value_t.shape)} cannot "
                           f"be broadcast to the indexing result ({e})") from None
    input._inplace_from(out, True)


# Conversion -----------------------------------------------------------------------------
@register
def to(input, *args, **kwargs):
    """``to(dtype)``, ``to(device)``, ``to(other)``, ``to(device, dtype)``; a no-op when
    nothing changes. ``copy=True`` forces a copy."""
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    dev = kwargs.pop("device", None)
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, _dtype.dtype) or a in (float, int, bool) or isinstance(a, np.dtype):
            dtype = a
        elif a is not None:
            dev = a
    if dev is not None:
        from .tensor import _require_cpu
        _require_cpu(dev)
    if dtype is None:
        return clone(input) if copy else input
    target = _dtype.to_dtype(dtype)
    if target is input.dtype and not copy:
        return input
    if input.requires_grad and is_grad_enabled() and target.is_floating_point:
        return E.ToCopy.apply(input, dtype=target.np)
    return Tensor._wrap(_bfloat16.cast(input._array, target.np))


@register
def type_as(input, other):
    return to(input, other.dtype)


def _dtype_method(d):
    def fn(input, memory_format=None):
        return to(input, d)
    return fn


@register
def new_tensor(input, data, dtype=None, requires_grad=False):
    from .creation import tensor
    return tensor(data, dtype=dtype or input.dtype, requires_grad=requires_grad)


@register
def new_zeros(input, *size, dtype=None, requires_grad=False):
    from .creation import zeros
    return zeros(*size, dtype=dtype or input.dtype, requires_grad=requires_grad)


@register
def new_ones(input, *size, dtype=None, requires_grad=False):
    from .creation import ones
    return ones(*size, dtype=dtype or input.dtype, requires_grad=requires_grad)


@register
def new_full(input, size, fill_value, dtype=None, requires_grad=False):
    from .creation import full
    return full(size, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


@register
def new_empty(input, *size, dtype=None, requires_grad=False):
    from .creation import empty
    return empty(*size, dtype=dtype or input.dtype, requires_grad=requires_grad)


@register
def view_as(input, other):
    return view(input, other.shape)


@register
def reshape_as(input, other):
    return reshape(input, other.shape)


# The hand-written functions; the generated ones (``GENERATED``) follow.
__all__ = [
    "abs", "add", "addmm", "all", "allclose", "amax", "amin", "any", "argmax", "argmin", "argsort",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "bmm", "broadcast_to", "cat",
    "ceil", "chunk", "clamp", "clamp_max", "clamp_min", "clone", "concat", "concatenate",
    "contiguous", "count_nonzero", "div", "dot", "eq", "equal", "expand",
    "expand_as", "expm1", "flatten", "flip", "floor", "floor_divide", "fmod", "gather", "ge",
    "getitem", "greater", "greater_equal", "gt", "hstack", "index_select", "isclose", "isfinite",
    "isinf", "isnan", "le", "less", "less_equal", "log10", "log2", "log_softmax", "logical_and",
    "logical_not", "logical_or", "logical_xor", "logsumexp", "lt", "masked_fill", "masked_select",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "mul", "mv", "narrow", "ne", "neg",
    "new_empty", "new_full", "new_ones", "new_tensor", "new_zeros", "nonzero", "not_equal",
    "outer", "permute", "pow", "prod", "relu", "remainder", "repeat", "reshape", "reshape_as",
    "roll", "round", "select", "setitem", "sign", "softmax", "sort", "split", "square", "squeeze",
    "stack",
    "std", "std_mean", "sub", "sum", "sum_to_size", "swapaxes", "swapdims", "t", "take_along_dim",
    "tensor_split", "to", "topk", "transpose", "tril", "triu", "trunc", "type_as", "unbind",
    "unflatten", "unsqueeze", "var", "var_mean", "view", "view_as", "vstack", "where",
] + sorted(GENERATED)

# More tensor functions, one module per theme in nanotorch/_functions/ (imported last: they
# build on the functions above).
from ._functions import *  # noqa: E402,F401,F403
from ._functions import __all__ as _more_functions  # noqa: E402

globals().update(GENERATED)  # with the one-input ops those modules registered
__all__ = sorted(set(__all__) | set(_more_functions) | set(GENERATED))
