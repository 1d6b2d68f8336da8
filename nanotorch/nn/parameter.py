"""``nn.Parameter``: a leaf tensor that a Module registers as a trainable weight."""
from __future__ import annotations

import numpy as np

from .._tensor_repr import tensor_repr
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter (``requires_grad=True`` by default)."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = Tensor._wrap(np.empty(0, dtype=np.float32))
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        p = object.__new__(cls)
        Tensor._init(p, data._array, data._version_box)
        if requires_grad:
            p.requires_grad = True
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return tensor_repr(self, prefix="Parameter containing:\ntensor(")

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._array, self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._wrap(self._array.copy()), self._requires_grad)
        memo[id(self)] = p
        return p


def _rebuild_parameter(arr, requires_grad):
    return Parameter(Tensor._wrap(arr), requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __new__(cls, data, persistent=True):
        b = object.__new__(cls)
        Tensor._init(b, data._array, data._version_box)
        b.persistent = persistent
        return b

    def __init__(self, data, persistent=True):
        pass
