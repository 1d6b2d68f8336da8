"""kernels/_threads.py: serial twins of parallel kernels (their own cache files) and the
hot() switch from a kernel's one-thread form to its parallel form."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit, prange

from nanotorch.kernels import _threads
from nanotorch.kernels.loss import _ce_index_fwd_rows

ROOT = Path(__file__).resolve().parents[1]


def _ce_args(n=64, c=10):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c)).astype(np.float32)
    t = rng.integers(0, c, n).astype(np.int64)
    t[3] = -100   # one ignored row
    return x, t, np.ones(c, np.float32), -100, 0.1, np.empty(n), np.empty(n), np.empty(n)


def test_serial_twin_computes_what_the_parallel_kernel_does():
    twin = _threads.serial(_ce_index_fwd_rows)
    assert twin is _threads.serial(_ce_index_fwd_rows)
    assert twin.py_func.__qualname__ != _ce_index_fwd_rows.py_func.__qualname__
    a, b = _ce_args(), _ce_args()
    _ce_index_fwd_rows(*a)
    twin(*b)
    for got, want in zip(b[5:], a[5:]):   # rows are independent: same operations per row
        np.testing.assert_array_equal(got, want)


# runs a parallel kernel and its twin, prints their outputs and cache hits
_RUN = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from nanotorch.kernels import _threads
from nanotorch.kernels.loss import _ce_index_fwd_rows as k
sys.path.insert(0, sys.argv[2])
from test_kernels_threads import _ce_args
out = {}
for name, f in (("parallel", k), ("serial", _threads.serial(k))):
    args = _ce_args()
    f(*args)
    out[name] = {"lse": args[5].tolist(), "hits": sum(f.stats.cache_hits.values()),
                 "misses": sum(f.stats.cache_misses.values())}
print(json.dumps(out))
"""


def test_twin_and_kernel_keep_separate_cache_entries(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))

    def run():
        out = subprocess.run([sys.executable, "-c", _RUN, str(ROOT), str(ROOT / "tests")],
                             env=env, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    cold, warm = run(), run()
    for name in ("parallel", "serial"):
        assert (cold[name]["misses"], cold[name]["hits"]) == (1, 0)
        assert (warm[name]["misses"], warm[name]["hits"]) == (0, 1)
        # each loads its own machine code: a mix-up would not give the same numbers
        assert warm[name]["lse"] == cold["parallel"]["lse"]


@njit(parallel=True)
def _double(x, out):
    for i in prange(x.size):
        out[i] = 2.0 * x[i]


@njit
def _double_one_thread(x, out):
    for i in range(x.size):
        out[i] = 2.0 * x[i]


@pytest.fixture
def fresh_tiers(monkeypatch):
    for name, value in (("_calls", {}), ("_pending", {}), ("_ready", set())):
        monkeypatch.setattr(_threads, name, value)


def test_hot_uses_the_one_thread_form_until_the_kernel_is_compiled(fresh_tiers, monkeypatch):
    monkeypatch.setattr(_threads, "HOT_CALLS", 3)
    x, out = np.arange(5.0), np.empty(5)
    args = (x, out)
    assert _threads.hot(_double, _double_one_thread, args) is _double_one_thread
    assert _threads.hot(_double, _double_one_thread, args) is _double_one_thread
    assert not _double.signatures
    _threads.hot(_double, _double_one_thread, args)   # the third call starts the compile
    _threads._pending[_double].result()
    assert _threads.hot(_double, _double_one_thread, args) is _double
    assert len(_double.signatures) == 1
    _double(*args)
    np.testing.assert_array_equal(out, 2.0 * x)


def test_launch_streaming_picks_by_size_and_hot_calls(fresh_tiers, monkeypatch):
    def parallel(*a):
        return "parallel"

    def one_thread(*a):
        return "one thread"

    big = _threads.PARALLEL_MIN_STREAMING
    monkeypatch.setattr(_threads, "HOT_CALLS", 0)
    assert _threads.launch_streaming(parallel, one_thread, big - 1) == "one thread"
    assert _threads.launch_streaming(parallel, one_thread, big) == "parallel"
    monkeypatch.setattr(_threads, "HOT_CALLS", 5)
    assert _threads.launch_streaming(parallel, one_thread, big) == "one thread"


def test_fork_waits_for_background_compiles(fresh_tiers):
    """A forked child (DataLoader workers) must not inherit Numba's compiler lock held by
    the compile thread: fork waits for pending compiles."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    done = threading.Event()

    def slow_compile():
        time.sleep(0.3)
        done.set()

    with ThreadPoolExecutor(1) as pool:
        _threads._pending["kernel"] = pool.submit(slow_compile)
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        finished_at_fork = done.is_set()
        os.waitpid(pid, 0)
    assert finished_at_fork
