"""``torch.autograd.Variable``: the pre-0.4 wrapper, kept for old scripts.

Every tensor is a Variable (``isinstance(t, Variable)`` is true); ``Variable(t,
requires_grad=...)`` returns a new leaf sharing ``t``'s data, as PyTorch does."""
from __future__ import annotations


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        from ..tensor import Tensor
        return isinstance(obj, Tensor)

    def __call__(cls, data, requires_grad=False, volatile=False):
        from ..tensor import Tensor
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))


class Variable(metaclass=_VariableMeta):
    """Deprecated alias of a tensor (see the module docstring)."""
