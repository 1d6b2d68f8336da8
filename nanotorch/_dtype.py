"""Tensor dtypes and PyTorch's type-promotion rules."""
from __future__ import annotations

import numpy as np

from . import _bfloat16


class dtype:
    """A tensor element type (``nanotorch.float32`` ...), backed by a NumPy dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = category == FLOAT
        self.is_signed = category != BOOL and self.np.kind != "u"
        self.itemsize = self.np.itemsize
        self._category = category

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    @property
    def is_complex(self):
        return False

    def to_real(self):
        return self


BOOL, INT, FLOAT = 0, 1, 2

bool_ = dtype("bool", np.bool_, BOOL)
uint8 = dtype("uint8", np.uint8, INT)
int8 = dtype("int8", np.int8, INT)
int16 = dtype("int16", np.int16, INT)
int32 = dtype("int32", np.int32, INT)
int64 = dtype("int64", np.int64, INT)
float16 = dtype("float16", np.float16, FLOAT)
float32 = dtype("float32", np.float32, FLOAT)
float64 = dtype("float64", np.float64, FLOAT)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
# storage and conversion only (see _bfloat16); not in ALL_DTYPES, which the kernels take
bfloat16 = dtype("bfloat16", _bfloat16.NP_DTYPE, FLOAT)
_FROM_NUMPY = {d.np: d for d in ALL_DTYPES + (bfloat16,)}
_NAMES = {d.name: d for d in ALL_DTYPES + (bfloat16,)}
_NAMES.update({"bool": bool_, "float": float32, "double": float64, "half": float16,
               "long": int64, "int": int32, "short": int16})


def _by_name(name):
    return _NAMES[name]


_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                 "int32": "Int", "int64": "Long", "float16": "Half", "float32": "Float",
                 "float64": "Double", "bfloat16": "BFloat16"}


def scalar_name(d: dtype) -> str:
    """PyTorch's ScalarType name of ``d`` (``Float``, ``Long``, ...), used in its messages."""
    return _SCALAR_NAMES[d.name]


_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The nanotorch dtype of a NumPy dtype; raises TypeError for unsupported ones."""
    try:
        return _FROM_NUMPY[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"can't convert NumPy array of type {np.dtype(np_dtype)}; supported: "
                        + ", ".join(d.name for d in ALL_DTYPES)) from None


def to_dtype(d) -> dtype:
    """Accept a nanotorch dtype, a NumPy dtype / type, or Python's float/int/bool."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    return from_numpy_dtype(d)


def _promote_pair(a: dtype, b: dtype) -> dtype:
    """Within a category NumPy's rule (uint8 + int8 -> int16); across categories the
    higher category's dtype wins (int64 tensor * float32 tensor -> float32)."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    if a is bfloat16 or b is bfloat16:  # with half: float32; a wider float wins
        other = b if a is bfloat16 else a
        return float32 if other is float16 else other
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def _category_of_scalar(x) -> int:
    if isinstance(x, (bool, np.bool_)):
        return BOOL
    if isinstance(x, (int, np.integer)):
        return INT
    return FLOAT


def result_type(*operands) -> dtype:
    """PyTorch's promotion: dimensioned tensors > zero-dim tensors > Python scalars,
    where a lower tier only matters when its category (bool < int < float) is higher."""
    dim_result = zero_result = None
    scalar_cat = -1
    for op in operands:
        arr = getattr(op, "_array", None)
        if arr is not None:
            d = _FROM_NUMPY[arr.dtype]
            if arr.ndim > 0:
                dim_result = d if dim_result is None else _promote_pair(dim_result, d)
            else:
                zero_result = d if zero_result is None else _promote_pair(zero_result, d)
        elif op is not None:
            scalar_cat = max(scalar_cat, _category_of_scalar(op))
    result = dim_result
    if zero_result is not None:
        if result is None or zero_result._category > result._category:
            result = zero_result
    if scalar_cat >= 0 and (result is None or scalar_cat > result._category):
        result = {BOOL: bool_, INT: int64, FLOAT: _default_float}[scalar_cat]
    return result


def can_cast(src: dtype, dst: dtype) -> bool:
    """Whether an in-place op may write a ``src`` result into a ``dst`` tensor."""
    return src._category <= dst._category
