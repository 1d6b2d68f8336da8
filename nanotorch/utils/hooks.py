"""``RemovableHandle`` (as ``torch.utils.hooks``): what every ``register_*hook`` returns."""
from __future__ import annotations

import itertools


class RemovableHandle:
    """Handle to a hook stored under ``handle.id`` in ``hooks_dict``; ``remove()`` (or
    leaving a ``with`` block) unregisters it and drops the id from each of ``id_sets``
    (the ids of hooks with a special calling convention, e.g. keyword arguments)."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict: dict, *id_sets: set):
        self.id = next(RemovableHandle._next_id)
        self._hooks = hooks_dict
        self._id_sets = id_sets

    def remove(self) -> None:
        self._hooks.pop(self.id, None)
        for ids in self._id_sets:
            ids.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
