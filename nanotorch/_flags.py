"""Global switches of modern PyTorch scripts: deterministic algorithms, float32 matmul
precision and ``compile``. nanotorch's CPU kernels are deterministic and always compute
float32 products in float32, so the switches are recorded and reported, not acted on."""
from __future__ import annotations

import warnings

_deterministic = {"mode": False, "warn_only": False}
_matmul_precision = ["highest"]
_PRECISIONS = ("highest", "high", "medium")


def use_deterministic_algorithms(mode, *, warn_only=False) -> None:
    if not isinstance(mode, bool):
        raise TypeError("_set_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError("_set_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {type(warn_only).__name__}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``'highest'``, ``'high'`` or ``'medium'`` (other values warn and are ignored,
    as in PyTorch). nanotorch's products are always full float32."""
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision[0]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """No-op fallback for ``torch.compile``: nanotorch has no graph compiler, so the module
    or function comes back unchanged (it runs eagerly, with the same results). Without
    ``model`` it returns a decorator that does the same."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError("torch.compile: model must be a callable (an nn.Module or a "
                           f"function), got {type(model).__name__}")
    return model
