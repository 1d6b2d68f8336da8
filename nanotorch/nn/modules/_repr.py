"""The tail of PyTorch's layer reprs: only the arguments that differ from their defaults."""
from __future__ import annotations


def non_defaults(module, defaults):
    """``", name=value"`` for each ``(name, default)`` whose attribute differs from the
    default (by identity for None and bool defaults, as PyTorch's ``is not``)."""
    tail = ""
    for name, default in defaults:
        value = getattr(module, name)
        if default is None or isinstance(default, bool):
            differs = value is not default
        else:
            differs = value != default
        if differs:
            tail += f", {name}={value}"
    return tail
