"""PyTorch's legacy typed constructors: ``FloatTensor(2, 3)``, ``LongTensor([1, 2])``, ...

``XTensor(*sizes)`` gives a tensor of that shape and dtype (zero-filled, where PyTorch
leaves it uninitialised), ``XTensor(data)`` converts ``data``, ``XTensor()`` is empty; and
``isinstance(t, FloatTensor)`` is true exactly for float32 tensors, as in PyTorch."""
from __future__ import annotations

import numpy as np

from . import _dtype
from .tensor import Tensor


def _is_size(args):
    if len(args) == 1 and isinstance(args[0], tuple):  # torch.Size or a tuple of ints
        args = args[0]
    return all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args)


class _LegacyTensorType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        from .creation import tensor, zeros
        from .tensor import _require_cpu
        if device is not None:
            _require_cpu(device)
        if len(args) == 1 and isinstance(args[0], Tensor):
            data = args[0]
            if data.dtype is not cls.dtype:
                raise TypeError(f"{cls.__name__}: expected a tensor of dtype {cls.dtype} (got "
                                f"{data.dtype})")
            return data.detach()
        if _is_size(args):
            sizes = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            if not sizes:
                return zeros(0, dtype=cls.dtype)
            for n in sizes:
                if n < 0:
                    raise RuntimeError("Trying to create tensor with negative dimension "
                                       f"{int(n)}: {[int(s) for s in sizes]}")
            return zeros(*sizes, dtype=cls.dtype)
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}(): expected sizes (ints) or one sequence of data, "
                            f"got {args!r}")
        if isinstance(args[0], str):
            raise TypeError("new(): invalid data type 'str'")
        return tensor(args[0], dtype=cls.dtype)


def _legacy_type(name, dtype):
    doc = f"Legacy constructor of {dtype} tensors (``torch.{name}``)."
    return _LegacyTensorType(name, (), {"dtype": dtype, "__doc__": doc,
                                        "__module__": "nanotorch"})


FloatTensor = _legacy_type("FloatTensor", _dtype.float32)
DoubleTensor = _legacy_type("DoubleTensor", _dtype.float64)
HalfTensor = _legacy_type("HalfTensor", _dtype.float16)
LongTensor = _legacy_type("LongTensor", _dtype.int64)
IntTensor = _legacy_type("IntTensor", _dtype.int32)
ShortTensor = _legacy_type("ShortTensor", _dtype.int16)
CharTensor = _legacy_type("CharTensor", _dtype.int8)
ByteTensor = _legacy_type("ByteTensor", _dtype.uint8)
BoolTensor = _legacy_type("BoolTensor", _dtype.bool_)
