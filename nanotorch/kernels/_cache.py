"""Numba's on-disk cache for this package's kernels, keyed on all of its source.

Numba stamps a cached function with the contents of its own file only, but the
kernels here inline helpers from other files (_math.py, ...): after such a
helper changed, Numba would load the old machine code. So every ``cache=True``
function defined in this folder is cached in a directory named after a digest
of all the folder's ``.py`` files, and stamped with that digest: editing any of
them recompiles the kernels (once); an unchanged package keeps hitting its cache.

The directory is ``numba-cache-<digest>`` inside the first writable of, in
Numba's own order of preference:

- ``$NUMBA_CACHE_DIR/kernels_<hash of this folder's path>/``
- ``nanotorch/kernels/__pycache__/``
- ``<user cache dir>/numba/kernels_<hash>/`` (``~/.cache/numba`` on Linux: read-only
  installs)

When a new digest's directory is made, the older ones beside it (and loose
cache files of Numba's own layout) are removed. Functions defined elsewhere keep
Numba's locators. Setting ``NUMBA_CACHE_LOCATOR_CLASSES`` replaces Numba's list,
this locator included: name ``nanotorch.kernels._cache.KernelCacheLocator``
first in it to keep the kernels' cache safe.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile

from numba.core import caching, config
from numba.misc.appdirs import AppDirs

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DIR_PREFIX = "numba-cache-"
_DIR_NAME = re.compile(re.escape(DIR_PREFIX) + r"[0-9a-f]{16}")
_NUMBA_FILE = re.compile(r".+\.(nbi|nbc)")

_digest: str | None = None
_cache_path: str | None = None


def source_digest(folder: str = PACKAGE_DIR) -> str:
    """sha256 (hex) over the names and bytes of the folder's ``.py`` files."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            h.update(f"{name}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def _package_digest() -> str:
    global _digest
    if _digest is None:
        _digest = source_digest()
    return _digest


def _parent_dirs(py_file: str):
    subpath = caching._CacheLocator.get_suitable_cache_subpath(py_file)
    if config.CACHE_DIR:
        yield os.path.join(config.CACHE_DIR, subpath)
    yield os.path.join(PACKAGE_DIR, "__pycache__")
    yield os.path.join(AppDirs(appname="numba", appauthor=False).user_cache_dir, subpath)


def _make_writable_dir(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _remove_stale(parent: str, keep: str) -> None:
    """Remove the other digests' directories and loose Numba cache files in ``parent``
    (all of them belong to this folder's functions). A process still running an
    older version that saves again simply recreates its directory."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        path = os.path.join(parent, name)
        if _DIR_NAME.fullmatch(name) and name != keep:
            shutil.rmtree(path, ignore_errors=True)
        elif _NUMBA_FILE.fullmatch(name):
            try:
                os.remove(path)
            except OSError:
                pass


def cache_path(py_file: str) -> str | None:
    """This process's kernel cache directory (made on first use), or None when no
    candidate is writable."""
    global _cache_path
    if _cache_path is None:
        name = DIR_PREFIX + _package_digest()[:16]
        for parent in _parent_dirs(py_file):
            path = os.path.join(parent, name)
            is_new = not os.path.isdir(path)
            if _make_writable_dir(path):
                if is_new:
                    _remove_stale(parent, name)
                _cache_path = path
                break
    return _cache_path


class KernelCacheLocator(caching._CacheLocator):
    """Numba cache locator for the functions defined in this folder."""

    def __init__(self, py_func, path):
        self._lineno = py_func.__code__.co_firstlineno
        self._path = path

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        return _package_digest()

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != PACKAGE_DIR:
            return None
        path = cache_path(py_file)
        return None if path is None else cls(py_func, path)


def install() -> None:
    """Put KernelCacheLocator first in Numba's locators (once); it declines every
    function defined outside this folder. The digest is taken now, before any kernel
    module is read, so that it describes the source the kernels compile from."""
    _package_digest()
    locators = caching.CacheImpl._locator_classes
    if KernelCacheLocator not in locators:
        locators.insert(0, KernelCacheLocator)
