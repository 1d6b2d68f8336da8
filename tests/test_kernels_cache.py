"""The kernels' Numba cache is keyed on all of the package's source: a kernel that
inlines a helper from another file recompiles when that helper changes, and an
unchanged package still loads its kernels from the cache.

Each test copies nanotorch/kernels to a temporary folder (as a top-level package
``kernels``), adds one small kernel that inlines a helper appended to the copy's
_math.py, and imports it in fresh processes."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[1] / "nanotorch" / "kernels"

# a shared helper in _math.py and a kernel in another file that inlines it
_HELPER = '''

@njit(inline="always")
def cache_probe_offset(x):
    return x + 1.0
'''
_PROBE = '''from numba import njit

from ._math import cache_probe_offset, vexp


@njit(cache=True)
def probe(x):
    return cache_probe_offset(vexp(x))
'''
# imports the copy, runs the probe once, reports its value and Numba's cache stats
_RUN = '''
import json, sys
sys.path.insert(0, sys.argv[1])
from kernels import _probe
value = _probe.probe(0.0)
stats = _probe.probe.stats
print(json.dumps({"value": value, "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values()), "path": stats.cache_path}))
'''


@pytest.fixture
def package(tmp_path):
    """(folder holding the copied package, the copy's kernels folder)."""
    root = tmp_path / "src"
    dst = root / "kernels"
    shutil.copytree(KERNELS, dst, ignore=shutil.ignore_patterns("__pycache__"))
    with open(dst / "_math.py", "a") as f:
        f.write(_HELPER)
    (dst / "_probe.py").write_text(_PROBE)
    return root, dst


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "user-cache"), PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _run(root, env):
    out = subprocess.run([sys.executable, "-c", _RUN, str(root)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_editing_a_shared_helper_recompiles_its_users(package, tmp_path):
    root, kernels = package
    env = _env(tmp_path)
    (kernels / "__pycache__").mkdir()
    legacy = kernels / "__pycache__" / "softmax._softmax_fwd-160.py311.nbi"
    legacy.write_bytes(b"")   # Numba's own layout, from before this cache
    first = _run(root, env)
    assert (first["value"], first["misses"], first["hits"]) == (2.0, 1, 0)
    assert Path(first["path"]).parent == kernels / "__pycache__"
    assert not legacy.exists()
    warm = _run(root, env)
    assert (warm["value"], warm["misses"], warm["hits"]) == (2.0, 0, 1)

    _edit(kernels / "_math.py", "return x + 1.0", "return x + 2.0")
    edited = _run(root, env)
    assert (edited["value"], edited["misses"], edited["hits"]) == (3.0, 1, 0)
    assert edited["path"] != first["path"]
    # the old digest's directory is gone; the new one is hit from now on
    assert [p.name for p in (kernels / "__pycache__").iterdir()] == [
        Path(edited["path"]).name]
    again = _run(root, env)
    assert (again["value"], again["misses"], again["hits"]) == (3.0, 0, 1)


def test_editing_any_kernel_file_invalidates(package, tmp_path):
    root, kernels = package
    env = _env(tmp_path)
    assert _run(root, env)["misses"] == 1
    with open(kernels / "_threads.py", "a") as f:
        f.write("# an edit that changes no code\n")
    assert _run(root, env)["misses"] == 1


def test_unwritable_package_falls_back_to_the_user_cache(package, tmp_path):
    root, kernels = package
    (kernels / "__pycache__").write_text("a file where the folder would go")
    env = _env(tmp_path)
    first = _run(root, env)
    assert Path(first["path"]).is_relative_to(tmp_path / "user-cache" / "numba")
    warm = _run(root, env)
    assert (warm["value"], warm["misses"], warm["hits"]) == (2.0, 0, 1)


def test_numba_cache_dir_is_honoured(package, tmp_path):
    root, _ = package
    env = _env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "numba-dir"))
    first = _run(root, env)
    assert Path(first["path"]).is_relative_to(tmp_path / "numba-dir")
    assert _run(root, env)["hits"] == 1


def test_functions_outside_the_package_keep_numbas_locators(package, tmp_path):
    root, _ = package
    (root / "beside.py").write_text("def outside(x):\n    return x\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import kernels, beside\n"
            "from numba.core.caching import FunctionCache\n"
            "print(type(FunctionCache(beside.outside)._impl.locator).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code, str(root)], env=_env(tmp_path),
                         check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "InTreeCacheLocator"
