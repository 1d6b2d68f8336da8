"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""
from __future__ import annotations

import operator
from collections import OrderedDict

from ..parameter import Parameter
from .module import Module, _addindent


def _renumber(modules, items):
    """Refill the ``_modules`` dict ``modules`` with ``items`` under the keys 0..n-1."""
    modules.clear()
    for i, m in enumerate(items):
        modules[str(i)] = m


class Sequential(Module):
    """Modules applied in order; indexable, sliceable and assignable
    (``model.classifier[1] = nn.Linear(1280, 2)``)."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (dict, OrderedDict)):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def _index(self, idx: int) -> str:
        n = len(self._modules)
        idx = operator.index(idx)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return list(self._modules)[idx % n]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._index(idx)]

    def __setitem__(self, idx, module):
        self.add_module(self._index(idx), module)

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            for key in list(self._modules)[idx]:
                del self._modules[key]
        else:
            del self._modules[self._index(idx)]
        # keep keys 0..n-1, as PyTorch does
        _renumber(self._modules, list(self._modules.values()))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        out = Sequential()
        for m in list(self) + list(other):
            out.append(m)
        return out

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def pop(self, index: int):
        m = self[index]
        del self[index]
        return m

    def forward(self, input):
        if _fusion is not None and getattr(input, "ndim", 0) == 4:
            return _fusion.fused_sequential(self, input)
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of submodules, registered so their parameters are found."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _key(self, idx):
        n = len(self._modules)
        idx = operator.index(idx)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return str(idx % n)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]

    def __setitem__(self, idx, module):
        self.add_module(self._key(idx), module)

    def __delitem__(self, idx):
        items = list(self._modules.values())
        del items[idx]
        _renumber(self._modules, items)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def pop(self, key=-1):
        m = self[key]
        del self[key]
        return m

    def __add__(self, other):
        out = ModuleList()
        for m in list(self) + list(other):
            out.append(m)
        return out

    def __repr__(self):
        # runs of modules printing the same are folded: "(0-2): 3 x Linear(...)"
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [first, last, text]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = []
        for first, last, r in runs:
            head = f"({first})" if first == last else f"({first}-{last}): {last - first + 1} x"
            lines.append(_addindent(f"{head}: {r}" if first == last else f"{head} {r}", 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward; iterate over its modules")


class _KeyedStore:
    """The dict protocol of ModuleDict / ParameterDict over ``_store()`` (their
    ``_modules`` / ``_parameters``); ``__setitem__`` registers a value."""

    def _store(self) -> dict:
        raise NotImplementedError

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.update(values)

    def __len__(self):
        return len(self._store())

    def __iter__(self):
        return iter(self._store())

    def __contains__(self, key):
        return key in self._store()

    def __getitem__(self, key):
        return self._store()[key]

    def __delitem__(self, key):
        del self._store()[key]

    def keys(self):
        return self._store().keys()

    def items(self):
        return self._store().items()

    def values(self):
        return self._store().values()

    def get(self, key, default=None):
        return self._store().get(key, default)

    def pop(self, key):
        return self._store().pop(key)

    def clear(self):
        self._store().clear()

    def update(self, values):
        items = values.items() if hasattr(values, "items") else values
        for k, v in items:
            self[k] = v


class ModuleDict(_KeyedStore, Module):
    """A dict of submodules (insertion ordered)."""

    def _store(self):
        return self._modules

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward; index it by key")


class ParameterList(Module):
    """A list of Parameters, registered on the module."""

    def __init__(self, values=None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def __getitem__(self, idx):
        return self._parameters[str(operator.index(idx) % len(self))]

    def __setitem__(self, idx, value):
        self.register_parameter(str(operator.index(idx) % len(self)), _as_param(value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value):
        self.register_parameter(str(len(self)), _as_param(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def extra_repr(self):
        return "\n".join(f"  ({k}): {_param_summary(p, str(p.dtype))}"
                         for k, p in self._parameters.items())


class ParameterDict(_KeyedStore, Module):
    """A dict of Parameters, registered on the module."""

    def _store(self):
        return self._parameters

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_param(value))

    def extra_repr(self):
        return "\n".join(f"  ({k}): {_param_summary(p, p.type())}"
                         for k, p in self._parameters.items())


def _param_summary(p, type_name):
    kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
    return f"{kind} containing: [{type_name} of size {'x'.join(map(str, p.shape))}]"


def _as_param(value):
    return value if isinstance(value, Parameter) else Parameter(value)


# imported last: the fusion module needs the layer classes, which need this module
from . import _fusion  # noqa: E402
