"""Binds the registered functions (``ops/registry.py``) and their in-place forms as Tensor
methods, plus the operators and the Tensor-only methods."""
from __future__ import annotations

import numpy as np

from . import _dtype
from . import functions as F
from .ops import elementwise as E
from .ops import registry
from .tensor import Tensor

Tensor.where = lambda self, condition, other: F.where(condition, self, other)
Tensor.T = property(F._T)
Tensor.mT = property(F._mT)
Tensor.H = Tensor.T
# ``t.float()`` ...; the capitalised name is also the legacy type's (``torch.FloatTensor``)
_DTYPE_METHODS = (("float", _dtype.float32), ("double", _dtype.float64),
                  ("half", _dtype.float16), ("bfloat16", _dtype.bfloat16), ("long", _dtype.int64),
                  ("int", _dtype.int32), ("short", _dtype.int16), ("byte", _dtype.uint8),
                  ("char", _dtype.int8), ("bool", _dtype.bool_))
for _name, _dt in _DTYPE_METHODS:
    setattr(Tensor, _name, F._dtype_method(_dt))
Tensor.cpu = lambda self, *a, **k: self
Tensor.cuda = lambda self, *a, **k: F.to(self, "cuda")
Tensor.pin_memory = lambda self: self
Tensor.share_memory_ = lambda self: self


def _type(self, dtype=None, non_blocking=False):
    if dtype is None:
        name = next(name for name, dt in _DTYPE_METHODS if dt is self.dtype)
        return f"torch.{name.capitalize()}Tensor"
    return F.to(self, dtype)


Tensor.type = _type

# Operators ------------------------------------------------------------------------------
def _reflected(fn):
    """``Tensor.__r<op>__``: ``other <op> self`` when the left operand is not a Tensor."""
    def method(self, other):
        return fn(other, self)
    return method


for _op, _fn in (("add", F.add), ("sub", F.sub), ("mul", F.mul), ("truediv", F.div),
                 ("floordiv", F.floor_divide), ("mod", F.remainder), ("pow", F.pow),
                 ("matmul", F.matmul), ("and", F.bitwise_and), ("or", F.bitwise_or),
                 ("xor", F.bitwise_xor)):
    setattr(Tensor, f"__{_op}__", _fn)
    setattr(Tensor, f"__r{_op}__", _reflected(_fn))

Tensor.__neg__ = F.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = F.abs
Tensor.__invert__ = lambda self: (F.logical_not(self) if self.dtype is _dtype.bool_
                                  else F.bitwise_not(self))
for _op in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Tensor, f"__{_op}__", getattr(F, _op))
Tensor.__getitem__ = F.getitem
Tensor.__setitem__ = F.setitem


# In-place forms ---------------------------------------------------------------------------
def _inplace(fn):
    """``Tensor.<name>_``: compute out of place, then write the result into self."""
    def method(self, *args, **kwargs):
        return self._apply_inplace(lambda s, *others: fn(s, *others, **kwargs), *args)
    method.__name__ = fn.__name__ + "_"
    method.__wrapped__ = fn  # its signature, for tools
    return method


def _inplace_into_self(fn):
    """In-place form of an op (add, sub, relu) whose forward can write its result
    straight into self's storage, as it saves nothing of self's old value: no
    temporary and no copy back, when the result has self's dtype and shape."""
    def method(self, *args, **kwargs):
        def run(s, *others):
            arr = s._array
            if (arr.flags.writeable and arr.flags.c_contiguous
                    and F.result_type(s, *others) is s.dtype
                    and all(not isinstance(o, Tensor) or o.ndim <= s.ndim and
                            np.broadcast_shapes(o.shape, s.shape) == s.shape for o in others)):
                return fn(s, *others, _out=arr, **kwargs)
            return fn(s, *others, **kwargs)
        return self._apply_inplace(run, *args)
    method.__name__ = fn.__name__ + "_"
    method.__wrapped__ = fn  # its signature, for tools
    return method


_INPLACE_FORMS = {registry.COPY: _inplace, registry.INTO_SELF: _inplace_into_self}


def _bind(entry):
    """Bind one registered function as its Tensor method(s): the function itself, no
    wrapper, so a method call costs one call."""
    inplace = _INPLACE_FORMS[entry.inplace](entry.fn) if entry.inplace else None
    for name in (entry.name,) + entry.aliases:
        setattr(Tensor, name, entry.fn)
        if inplace is not None:
            setattr(Tensor, name + "_", inplace)


for _entry in registry.ENTRIES.values():
    _bind(_entry)

for _op, _method in (("add", "add_"), ("sub", "sub_"), ("mul", "mul_"), ("truediv", "div_"),
                    ("pow", "pow_"), ("floordiv", "floor_divide_"), ("mod", "remainder_")):
    setattr(Tensor, f"__i{_op}__", getattr(Tensor, _method))


def _fill(self, value, op):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
    track = self._check_inplace_allowed((value,))
    if not track:
        self._array[...] = value._array if isinstance(value, Tensor) else value
        self._bump_version()
        return self
    if isinstance(value, Tensor):
        out = E.FillTensor.apply(self, value.to(self.dtype))
    else:
        out = op.apply(self, value=value)
    return self._inplace_from(out, True)


def _fill_(self, value):
    return _fill(self, value, E.Fill)


def _zero_(self):
    return _fill(self, 0, E.Zero)


def _copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    try:
        if np.broadcast_shapes(src._array.shape, self._array.shape) != self._array.shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({list(self.shape)}) must match the size of "
                           f"tensor b ({list(src.shape)})") from None
    track = self._check_inplace_allowed((src,))
    if not track:
        np.copyto(self._array, src._array, casting="unsafe")
        self._bump_version()
        return self
    return self._inplace_from(E.Copy.apply(self, src), True)


Tensor.fill_ = _fill_
Tensor.zero_ = _zero_
Tensor.copy_ = _copy_


def _set_(self, source):
    self._array = source._array
    self._version_box = source._version_box
    return self


Tensor.set_ = _set_
