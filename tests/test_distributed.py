"""nanotorch.distributed, DistributedDataParallel and DistributedSampler.

The multi-process checks launch ``tests/test_distributed_worker.py`` under ``mpiexec``
(2 ranks, and 4 oversubscribed on 2 cores) with a timeout each, so a hang fails the test
instead of blocking the run. They need ``pip install 'nanotorch[distributed]'``."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nanotorch as nt
import nanotorch.distributed as dist
from nanotorch.utils.data import DistributedSampler

WORKER = Path(__file__).with_name("test_distributed_worker.py")
ROOT = WORKER.parent.parent


def _mpiexec():
    here = Path(sys.executable).with_name("mpiexec")
    return str(here) if here.exists() else shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or _mpiexec() is None,
    reason="needs mpi4py and mpiexec: pip install 'nanotorch[distributed]'")


def mpiexec_command(ranks):
    """``mpiexec -n ranks`` (oversubscribing the cores; as root, allowed to run)."""
    cmd = [_mpiexec(), "--oversubscribe", "-n", str(ranks)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return cmd


def one_thread_env(**extra):
    """One kernel/BLAS thread per rank: the ranks share the machine's cores."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                OMP_NUM_THREADS="1", PYTHONPATH=path, **extra)


def mpirun(case, ranks=2, timeout=90):
    """Run one worker case on ``ranks`` processes; (return code, output, seconds)."""
    env = one_thread_env(EXPECTED_WORLD=str(ranks))
    cmd = mpiexec_command(ranks) + ["-x", "EXPECTED_WORLD", "-x", "PYTHONPATH",
                                    sys.executable, str(WORKER), case]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        pytest.fail(f"{case} on {ranks} ranks hung for {timeout} s:\n"
                    f"{out.decode(errors='replace')[-3000:]}")
    out = (proc.stdout + proc.stderr).decode(errors="replace").replace("\x00", "")
    return proc.returncode, out, time.monotonic() - start


def assert_all_ok(case, ranks):
    rc, out, _ = mpirun(case, ranks)
    assert rc == 0, out[-4000:]
    for r in range(ranks):
        assert f"rank {r} ok" in out, out[-4000:]


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 4])
def test_collectives(ranks):
    assert_all_ok("collectives", ranks)


@needs_mpi
def test_ddp_matches_single_process_full_batch():
    # CNN with frozen BatchNorm and head-only fine-tuning: 2 ranks x B/2 == 1 rank x B
    assert_all_ok("equivalence", 2)


@needs_mpi
def test_ddp_semantics():
    assert_all_ok("semantics", 2)


@needs_mpi
@pytest.mark.parametrize("case, evidence", [
    ("die", "exited on\nsignal 9"),                  # SIGKILLed rank: mpiexec ends the job
    ("hang", "all_reduce timed out after 2.0 s"),     # stuck rank: the others' watchdog
    ("raise", "rank 1 failed on purpose"),            # exception: the job is aborted
])
def test_failed_rank_ends_the_job(case, evidence):
    rc, out, seconds = mpirun(case, 2, timeout=60)
    assert rc != 0, out[-3000:]
    assert "finished" not in out, out[-3000:]
    assert " ".join(evidence.split()) in " ".join(out.split()), out[-3000:]
    assert seconds < 60


def test_without_mpi4py_says_what_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import nanotorch.distributed as dist\n"
            "assert not dist.is_initialized()\n"
            "try:\n    dist.init_process_group('mpi')\n"
            "except RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert "pip install 'nanotorch[distributed]'" in out.stdout, out.stdout + out.stderr


def test_uninitialised_group_errors():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_world_size()
    with pytest.raises(ValueError, match="has not been initialized"):
        nt.nn.parallel.DistributedDataParallel(nt.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedSampler(range(10))


# ------------------------------------------------------------------ DistributedSampler
def _torch_sampler_indices(n, replicas, rank, shuffle, seed, drop_last, epoch):
    import torch.utils.data.distributed as tud

    s = tud.DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle,
                               seed=seed, drop_last=drop_last)
    s.set_epoch(epoch)
    return list(s), len(s)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 17, 64, 101, 1000])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 7])
def test_sampler_matches_torch(n, replicas):
    pytest.importorskip("torch")
    for seed, epoch, shuffle, drop_last in [(0, 0, True, False), (0, 3, True, True),
                                            (42, 1, True, False), (7, 0, False, False),
                                            (7, 2, False, True), (123456789, 5, True, True)]:
        shards = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                   shuffle=shuffle, seed=seed, drop_last=drop_last)
            s.set_epoch(epoch)
            mine = list(s)
            want, want_len = _torch_sampler_indices(n, replicas, rank, shuffle, seed,
                                                    drop_last, epoch)
            assert mine == want, (n, replicas, rank, seed, epoch, shuffle, drop_last)
            assert len(s) == want_len == len(mine)
            shards.append(mine)
        if not drop_last:   # every index is visited at least once
            assert set().union(*shards) == set(range(n))


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
