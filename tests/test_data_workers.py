"""DataLoader with worker processes: the batches of num_workers=0, PyTorch's per-worker
seeds and get_worker_info, worker_init_fn, IterableDataset sharding, persistent workers,
errors with the worker's traceback, timeout, dead workers, and no process left behind
(end of epoch, error, garbage collection, Ctrl-C)."""
import gc
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.utils.data as D

torch = pytest.importorskip("torch")
TD = torch.utils.data

_INIT = {}


def _init(worker_id):
    _INIT["value"] = 100 + worker_id


def _gone(pid):
    """Whether ``pid`` no longer exists (exited and reaped: no zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _draws(lib, data):
    """A dataset whose samples show which worker made them and what its random streams
    give (Python, NumPy, the library's global generator)."""
    class Draws(data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            info = data.get_worker_info()
            return (i, info.id, info.num_workers, info.seed, _INIT.get("value", -1),
                    random.random(), float(np.random.rand()),  # noqa: NPY002 (seeded per worker)
                    float(lib.rand(1).item()),
                    os.getpid())
    return Draws()


def _epochs(lib, data, epochs=1, **kwargs):
    lib.manual_seed(3)
    loader = data.DataLoader(_draws(lib, data), batch_size=3, shuffle=True,
                             generator=lib.Generator().manual_seed(7), **kwargs)
    out = [[[float(v) for v in field] for field in batch] for _ in range(epochs)
           for batch in loader]
    return out, float(lib.rand(1).item())  # the main stream after the loop


def _without_pids(batches):
    return [b[:-1] for b in batches]


class Squares(D.Dataset):
    def __len__(self):
        return 11

    def __getitem__(self, i):
        return np.full(2, i * i, dtype=np.float32), i


def test_same_batches_for_0_and_2_workers():
    def run(workers, **kwargs):
        nt.manual_seed(0)
        batches = [(x.tolist(), y.tolist()) for x, y in
                   D.DataLoader(Squares(), batch_size=3, shuffle=True, num_workers=workers,
                                **kwargs)]
        return batches, nt.rand(1).item()
    reference = run(0)
    assert run(2) == reference
    assert run(2, prefetch_factor=1, persistent_workers=True) == reference
    unordered = run(3, in_order=False)
    assert sorted(unordered[0]) == sorted(reference[0]) and unordered[1] == reference[1]
    assert D.get_worker_info() is None


def test_worker_seeds_info_and_init_fn_match_torch():
    ours, ours_after = _epochs(nt, D, num_workers=2, worker_init_fn=_init)
    theirs, theirs_after = _epochs(torch, TD, num_workers=2, worker_init_fn=_init)
    assert _without_pids(ours) == _without_pids(theirs)
    assert ours_after == theirs_after
    assert {b[4][0] for b in ours} == {100.0, 101.0}  # worker_init_fn ran in each worker
    assert len({b[-1][0] for b in ours} | {os.getpid()}) == 3


def test_persistent_workers_match_torch_over_epochs():
    ours, ours_after = _epochs(nt, D, epochs=2, num_workers=2, persistent_workers=True)
    theirs, theirs_after = _epochs(torch, TD, epochs=2, num_workers=2, persistent_workers=True)
    assert _without_pids(ours) == _without_pids(theirs) and ours_after == theirs_after
    assert len({b[-1][0] for b in ours}) == 2  # the same two processes in both epochs
    loader = D.DataLoader(Squares(), batch_size=2, num_workers=2, persistent_workers=True)
    next(iter(loader))  # an epoch left early: the next one still starts from the beginning
    assert [y.tolist() for _, y in loader] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10]]


def _sharded(data):
    class Sharded(data.IterableDataset):
        def __iter__(self):
            info = data.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, 13, step))
    return Sharded()


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_sharded_by_worker_info_as_torch(drop_last):
    ours = [b.tolist() for b in D.DataLoader(_sharded(D), batch_size=2, num_workers=2,
                                             drop_last=drop_last)]
    theirs = [b.tolist() for b in TD.DataLoader(_sharded(TD), batch_size=2, num_workers=2,
                                                drop_last=drop_last)]
    assert ours == theirs


class Failing(D.Dataset):
    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            if self.kind == "exit":
                os._exit(3)
            if self.kind == "sleep":
                time.sleep(30)
            raise {"value": ValueError, "key": KeyError}[self.kind]("bad sample 5")
        return os.getpid()


@pytest.mark.parametrize("kind,error", [("value", ValueError), ("key", KeyError)])
def test_worker_error_reraised_with_traceback_and_workers_reaped(kind, error):
    seen = []
    with pytest.raises(error, match="Caught .* in DataLoader worker process") as info:
        for batch in D.DataLoader(Failing(kind), batch_size=1, num_workers=2):
            seen.extend(batch.tolist())
    assert "Original Traceback" in str(info.value) and "__getitem__" in str(info.value)
    assert seen and all(_gone(pid) for pid in set(seen))


@pytest.mark.parametrize("kind,message", [("sleep", "timed out after 0.5 seconds"),
                                          ("exit", "exited unexpectedly")])
def test_timeout_and_dead_worker(kind, message):
    seen = []
    with pytest.raises(RuntimeError, match=message):
        for batch in D.DataLoader(Failing(kind), batch_size=1, num_workers=2,
                                  timeout=0.5 if kind == "sleep" else 0):
            seen.extend(batch.tolist())
    assert seen and all(_gone(pid) for pid in set(seen))


def test_garbage_collected_iterator_stops_its_workers():
    it = iter(D.DataLoader(Failing("value"), batch_size=1, num_workers=2))
    pids = {next(it).item(), next(it).item()}
    del it
    gc.collect()
    assert all(_gone(pid) for pid in pids)


def test_ctrl_c_leaves_no_worker(tmp_path):
    script = tmp_path / "ctrl_c.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        import nanotorch.utils.data as D

        class Slow(D.Dataset):
            def __len__(self):
                return 1000

            def __getitem__(self, i):
                time.sleep(0.05)
                return os.getpid()

        pids = set()
        try:
            for batch in D.DataLoader(Slow(), batch_size=1, num_workers=2):
                pids.add(batch.item())
                if len(pids) == 2:
                    print(*pids, flush=True)
        except KeyboardInterrupt:
            sys.exit(7)
    """))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env=env)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGINT)
    assert proc.wait() == 7
    for pid in pids:  # workers are not the test's children: wait for init to reap them
        for _ in range(100):
            if _gone(pid):
                break
            time.sleep(0.1)
        assert _gone(pid)


def test_spawn_context_gives_the_same_batches():
    def run(**kwargs):
        loader = D.DataLoader(Squares(), batch_size=4, shuffle=True,
                              generator=nt.Generator().manual_seed(1), **kwargs)
        return [y.tolist() for _, y in loader]
    assert run(num_workers=1, multiprocessing_context="spawn") == run()


def test_persistent_loader_runs_again_after_an_error():
    loader = D.DataLoader(Failing("value"), batch_size=1, num_workers=2,
                          persistent_workers=True)
    for _ in range(2):  # the workers outlive the error: the next epoch runs (and fails) again
        with pytest.raises(ValueError, match="bad sample 5"):
            list(loader)
