"""Error types raised when a weight file cannot be read."""

from __future__ import annotations

import os


class WeightFileError(ValueError):
    """A weight file is unreadable: truncated, corrupt, unsupported or unsafe.

    ``path`` is the offending file (or None) and ``problem`` the bare reason.
    """

    def __init__(self, problem: str, path: str | os.PathLike | None = None):
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        super().__init__(problem if self.path is None else f"{self.path}: {problem}")

    def __reduce__(self):
        return (type(self), (self.problem, self.path))


class UnsafePickleError(WeightFileError):
    """A pickled weight file asks for a global outside the allow-list.

    ``global_name`` is the requested ``module.name``.
    """

    def __init__(self, global_name: str, path: str | os.PathLike | None = None):
        self.global_name = global_name
        super().__init__(
            f"pickle references {global_name!r}, which is not on the allow-list of "
            "tensor-rebuilding globals; refusing to load it (it could run arbitrary "
            "code, or it is not plain tensor data)",
            path,
        )

    def __reduce__(self):
        return (type(self), (self.global_name, self.path))
