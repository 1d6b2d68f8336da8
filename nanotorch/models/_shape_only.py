"""Build a model's module tree without initialising its weights, to count parameters or read
shapes cheaply: the arrays are allocated but never written, so the operating system does not
commit their memory (RegNetY-128GF: 645M parameters in ~0.05 s and ~100 MiB)."""
from __future__ import annotations

import contextlib
import threading

from ..nn import init

_LOCK = threading.Lock()


def _initialisers():
    return {name: fn for name, fn in vars(init).items()
            if name.endswith("_") and not name.startswith("_") and callable(fn)}


@contextlib.contextmanager
def uninitialized():
    """Within this block the in-place initialisers of ``nn.init`` leave tensors as they are
    (uninitialised memory). Only for inspecting structure; not for running a model."""
    with _LOCK:
        saved = _initialisers()
        try:
            for name in saved:
                setattr(init, name, _leave_as_is)
            yield
        finally:
            for name, fn in saved.items():
                setattr(init, name, fn)


def _leave_as_is(tensor, *args, **kwargs):
    return tensor


def count_parameters(name: str, **kwargs) -> int:
    """Number of parameters of ``get_model(name, **kwargs)``, without initialising it."""
    from ._registry import get_model
    with uninitialized():
        model = get_model(name, **kwargs)
    return sum(p.numel() for p in model.parameters())
