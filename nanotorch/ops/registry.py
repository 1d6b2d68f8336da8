"""The one registration of the tensor surface.

Each entry is a ``nanotorch.<name>`` function and says how it also appears on Tensor: the
method ``Tensor.<name>``, method aliases, and the in-place method ``Tensor.<name>_``.
``_tensor_methods`` binds the entries onto Tensor; the function object itself becomes
the method, so a method call costs exactly one call of the function.

Two ways in:

* ``@register(...)`` on a function written by hand (``functions.py``), and
* ``@float_unary("name")`` on a one-input ``Op`` class: it writes the function (integer
  and bool inputs promoted to the default float dtype, as PyTorch does) and registers it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import _dtype

# How an in-place method writes its result back into ``self``:
COPY = "copy"            # compute out of place, then write into self's storage
INTO_SELF = "into_self"  # the forward writes straight into self's storage (``_out=``)


@dataclass(frozen=True)
class Entry:
    name: str
    fn: Callable
    inplace: str | None            # None, COPY or INTO_SELF: bound as ``Tensor.<name>_``
    aliases: tuple[str, ...]       # more Tensor method names (also in place when inplace)


ENTRIES: dict[str, Entry] = {}
GENERATED: dict[str, Callable] = {}   # the functions written by ``float_unary``


def register(fn=None, *, name=None, inplace=None, aliases=()):
    """Record ``fn`` (a ``nanotorch.<name>`` function) as the method ``Tensor.<name>``, the
    method ``aliases`` and, with ``inplace`` (COPY or INTO_SELF), ``Tensor.<name>_``.
    Returns ``fn`` unchanged."""
    if inplace not in (None, COPY, INTO_SELF):
        raise ValueError(f"register(): inplace must be None, {COPY!r} or {INTO_SELF!r}, got "
                         f"{inplace!r}")

    def add(f):
        key = name or f.__name__
        if key in ENTRIES:
            raise RuntimeError(f"register(): '{key}' is registered twice")
        ENTRIES[key] = Entry(key, f, inplace, tuple(aliases))
        return f
    return add if fn is None else add(fn)


def float_unary(name, *, inplace=True):
    """Class decorator for a one-input op: writes ``nanotorch.<name>(input)`` (integer and
    bool inputs become the default float dtype first) and registers it as a function, a
    method and, unless ``inplace=False``, an in-place method."""
    def decorate(op):
        apply = op.apply

        def fn(input):
            if not input.is_floating_point():
                input = input.to(_dtype.get_default_dtype())
            return apply(input)
        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = op.__doc__
        fn.__module__ = "nanotorch"
        GENERATED[name] = register(fn, inplace=COPY if inplace else None)
        return op
    return decorate
