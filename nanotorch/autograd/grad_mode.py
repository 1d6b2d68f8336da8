"""Thread-local gradient mode: no_grad, enable_grad, set_grad_enabled, inference_mode."""
from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set_enabled(flag: bool) -> None:
    _state.enabled = bool(flag)


class _GradMode:
    """Switches grad mode to ``_target``; a context manager and a decorator.

    ``_target`` is fixed per instance, so one instance can decorate a function that
    runs in several threads or recursively: each entry keeps its own saved mode."""

    _target = True

    def __enter__(self):
        stack = self.__dict__.setdefault("_saved", threading.local())
        prev = getattr(stack, "modes", None)
        if prev is None:
            prev = stack.modes = []
        prev.append(is_grad_enabled())
        _set_enabled(self._target)
        return None

    def __exit__(self, *exc):
        _set_enabled(self._saved.modes.pop())
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Disable gradient tracking. ``with no_grad():``, ``@no_grad()`` or ``@no_grad``."""

    _target = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if callable(func) else self

    def __init__(self, func=None):
        pass


class enable_grad(no_grad):
    """Enable gradient tracking, e.g. inside a no_grad region."""

    _target = True


class inference_mode(_GradMode):
    """Like no_grad (nanotorch has no separate inference tensors)."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):
            self._target = False
            return self(mode)
        self._target = not mode
        return self

    def __init__(self, mode=True):
        pass


class set_grad_enabled(_GradMode):
    """Turn gradient tracking on or off. Called plainly it sets the mode at once; as a
    context manager it restores the previous mode on exit; as a decorator it applies
    to each call of the function only."""

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._before_call = is_grad_enabled()
        _set_enabled(self._target)

    def __enter__(self):
        super().__enter__()
        if not self.__dict__.get("_is_decorator"):
            # __init__ already switched the mode: on exit, restore what it was before.
            self._saved.modes[-1] = self._before_call
        return None

    def __call__(self, func):
        _set_enabled(self._before_call)
        self._is_decorator = True
        return super().__call__(func)

    def clone(self):
        return set_grad_enabled(self._target)
