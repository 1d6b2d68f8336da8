"""``torch.testing.assert_close`` for nanotorch tensors, NumPy arrays, numbers and nested
sequences / mappings of them, with PyTorch's default tolerances and failure messages."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import _dtype
from .tensor import Tensor

# (rtol, atol) by dtype; integer and bool comparisons are exact
_DEFAULT_TOLERANCES = {
    _dtype.float16: (1e-3, 1e-5),
    _dtype.float32: (1.3e-6, 1e-5),
    _dtype.float64: (1e-7, 1e-7),
}


def _tolerance(dt):
    return _DEFAULT_TOLERANCES.get(dt, (0.0, 0.0))


def _dtype_of_number(x):
    if isinstance(x, (bool, int)):
        return _dtype.int64
    return _dtype.float64


def _default_tolerances(a_dtype, b_dtype, rtol, atol):
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {missing}.")
    if rtol is not None:
        return rtol, atol
    (r1, a1), (r2, a2) = _tolerance(a_dtype), _tolerance(b_dtype)
    return max(r1, r2), max(a1, a2)


def _fail(message, msg, path):
    if callable(msg):
        message = msg(message)
    elif msg is not None:
        message = msg
    if path:
        message += f"\n\nThe failure occurred for item {''.join(f'[{k!r}]' for k in path)}"
    raise AssertionError(message)


def _is_tensor_like(x):
    return isinstance(x, (Tensor, np.ndarray))


def _is_number(x):
    return isinstance(x, (bool, int, float, complex, np.number, np.bool_))


def _close_mask(actual, expected, rtol, atol, equal_nan):
    """Element-wise ``|actual - expected| <= atol + rtol * |expected|`` (infinities must be
    equal; NaN matches NaN only with ``equal_nan``)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if actual.dtype.kind in "biu":
            return actual == expected
        close = actual == expected
        finite = np.isfinite(actual) & np.isfinite(expected)
        diff = np.abs(actual - expected)
        close |= finite & (diff <= atol + rtol * np.abs(expected))
        if equal_nan:
            close |= np.isnan(actual) & np.isnan(expected)
        return close


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path):
    a = actual._array if isinstance(actual, Tensor) else np.asarray(actual)
    e = expected._array if isinstance(expected, Tensor) else np.asarray(expected)
    a_dt, e_dt = _dtype.from_numpy_dtype(a.dtype), _dtype.from_numpy_dtype(e.dtype)
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match: torch.Size({list(a.shape)}) != "
              f"torch.Size({list(e.shape)}).", msg, path)
    if check_dtype and a_dt is not e_dt:
        _fail(f"The values for attribute 'dtype' do not match: {a_dt} != {e_dt}.", msg, path)
    rtol, atol = _default_tolerances(a_dt, e_dt, rtol, atol)
    common = np.result_type(a.dtype, e.dtype)
    if common == np.bool_:
        common = np.dtype(np.int64)
    a, e = a.astype(common, copy=False), e.astype(common, copy=False)
    close = _close_mask(a, e, rtol, atol, equal_nan)
    if close.all():
        return
    if a.ndim == 0:
        _fail(_scalar_message(a.item(), e.item(), rtol, atol), msg, path)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        rel_float = common if common.kind in "fc" else np.dtype(np.float32)
        rel_diff = abs_diff.astype(rel_float) / np.abs(e).astype(rel_float)
    mismatched = int(close.size - np.count_nonzero(close))
    exact = rtol == 0 and atol == 0
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {mismatched} / {close.size} "
             f"({100 * mismatched / close.size:.1f}%)"]
    for label, diff, tol in (("absolute", abs_diff, atol), ("relative", rel_diff, rtol)):
        masked = np.where(close, 0, diff)  # the worst among the mismatched elements
        nans = np.isnan(masked)
        flat = int(np.argmax(nans)) if nans.any() else int(np.argmax(masked))
        where = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        allowed = "" if exact else f" (up to {tol} allowed)"
        lines.append(f"Greatest {label} difference: {masked.flat[flat].item()} at index "
                     f"{where}{allowed}")
    _fail("\n".join(lines), msg, path)


def _scalar_message(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = abs_diff / abs(expected) if expected != 0 else math.inf
    exact = rtol == 0 and atol == 0
    lines = [f"Scalars are not {'equal' if exact else 'close'}!", "",
             f"Expected {expected} but got {actual}."]
    for label, diff, tol in (("Absolute", abs_diff, atol), ("Relative", rel_diff, rtol)):
        lines.append(f"{label} difference: {diff}" + ("" if exact else f" (up to {tol} allowed)"))
    return "\n".join(lines)


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path):
    if check_dtype and type(actual) is not type(expected):
        _fail(f"The (d)types do not match: {type(actual)} != {type(expected)}.", msg, path)
    rtol, atol = _default_tolerances(_dtype_of_number(actual), _dtype_of_number(expected),
                                     rtol, atol)
    a, e = complex(actual), complex(expected)
    if a == e or (equal_nan and _has_nan(a) and _has_nan(e)):
        return
    if all(math.isfinite(v) for v in (a.real, a.imag, e.real, e.imag)) and \
            abs(a - e) <= atol + rtol * abs(e):
        return
    _fail(_scalar_message(actual, expected, rtol, atol), msg, path)


def _has_nan(z):
    return math.isnan(z.real) or math.isnan(z.imag)


def _compare(actual, expected, path, **options):
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        return _compare_tensors(actual, expected, path=path, **options)
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, path=path, **options)
    strings = (str, bytes)
    if (isinstance(actual, Sequence) and isinstance(expected, Sequence)
            and not isinstance(actual, strings) and not isinstance(expected, strings)):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                  options["msg"], path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), **options)
        return
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            _fail("The keys of the mappings do not match:\n"
                  f"Missing keys in the actual mapping: {sorted(missing, key=repr)}\n"
                  f"Additional keys in the actual mapping: {sorted(extra, key=repr)}",
                  options["msg"], path)
        for k in expected:
            _compare(actual[k], expected[k], path + (k,), **options)
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close:
    ``|actual - expected| <= atol + rtol * |expected|`` element-wise, with dtype-dependent
    defaults (float32: ``rtol=1.3e-6, atol=1e-5``; float64: ``1e-7, 1e-7``; float16:
    ``1e-3, 1e-5``; integers and bools exact). Shapes must match, and dtypes too unless
    ``check_dtype=False``. ``msg`` (a string, or a function of the generated message)
    replaces the message."""
    _compare(actual, expected, (), rtol=rtol, atol=atol, equal_nan=equal_nan,
             check_dtype=check_dtype, msg=msg)


__all__ = ["assert_close"]
