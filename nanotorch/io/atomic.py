"""Crash-safe file writes: write a temp file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from typing import IO


def _fsync_dir(folder: str) -> None:
    # Makes the rename itself durable; not possible on every OS/filesystem.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_beside(path: str | os.PathLike) -> tuple[str, str]:
    """(absolute target, hidden temp name in the same folder) for an atomic write."""
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    return target, os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield the name of a fresh empty temp file for a writer that needs a file name; on clean
    exit the file is synced and atomically replaces ``path``.

    The file lies in a private hidden folder beside ``path`` (``.<name>.<12 hex>.tmpd``): a
    writer that makes temp files of its own next to the name it is given (the safetensors
    package does) keeps them in there, so a process killed mid-write leaves one folder that
    ``remove_stale_temps`` recognises. If the body raises, the folder is removed and ``path``
    is left untouched.
    """
    target, tmp_name = _temp_beside(path)
    workdir = tmp_name + "d"
    os.mkdir(workdir, 0o700)
    tmp = os.path.join(workdir, os.path.basename(target))
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags, 0o666)
        mode = os.fstat(fd).st_mode & 0o7777  # 0o666 less the umask
        os.close(fd)
        yield tmp
        os.chmod(tmp, mode)  # writers may recreate the file with their own mode (0o600)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _fsync_dir(os.path.dirname(target))


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "wb", encoding: str | None = None
) -> Iterator[IO]:
    """Open a temp file next to ``path``; on clean exit it atomically replaces ``path``.

    If the body raises, the temp file is removed and ``path`` is left untouched.
    ``mode`` is "wb" or "w" (text, then ``encoding`` applies).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    target, tmp = _temp_beside(path)
    folder = os.path.dirname(target)
    # O_EXCL: never clobber a stranger's file; 0o666 lets the umask decide permissions.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        if mode == "wb":
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def atomic_write(path: str | os.PathLike, write_fn: Callable[[IO[bytes]], object]) -> None:
    """Call ``write_fn(f)`` on a binary temp file, then atomically move it onto ``path``."""
    with atomic_open(path, "wb") as f:
        write_fn(f)


_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")
_TEMP_DIR_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmpd$")


def remove_stale_temps(folder: str | os.PathLike) -> list[str]:
    """Delete the temp files the atomic writes here leave in ``folder`` when their process
    is killed mid-write (files ``.<name>.<12 hex>.tmp``, folders ``.<name>.<12 hex>.tmpd``);
    returns their paths.

    Only call this while no other process may be writing into ``folder`` (e.g. holding
    a lock on it): a live writer's temp file has the same name pattern."""
    removed = []
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and _TEMP_NAME.match(entry.name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.path)
        elif entry.is_dir(follow_symlinks=False) and _TEMP_DIR_NAME.match(entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed
