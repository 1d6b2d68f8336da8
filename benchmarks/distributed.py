"""Data parallelism on one machine: 2 ranks x 1 thread (mpiexec, DistributedDataParallel)
against 1 process x 2 threads, for W3 (resnet18 head-only), W4 (resnet18 fully trainable)
and the default recipe; with the bytes all-reduced per step and, from those, an estimate of
the communication time per step across machines.

    python -m benchmarks.distributed               # W3 W4 recipe
    python -m benchmarks.distributed W3 --steps 5  # some, more steps

Each configuration runs in its own process(es) with NUMBA_NUM_THREADS / OPENBLAS_NUM_THREADS
set. The global batch is 32 in both (16 per rank under mpiexec). Needs
``pip install 'nanotorch[distributed]'``."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 32
LINKS_GBIT = (1, 10, 100)


def ring_allreduce_seconds(nbytes: float, ranks: int, gbit_per_s: float) -> float:
    """Time a ring all-reduce of ``nbytes`` spends on the wire: each rank sends (and
    receives) 2 (N-1)/N x nbytes; latency is left out."""
    return 2 * (ranks - 1) / ranks * nbytes * 8 / (gbit_per_s * 1e9)


# ------------------------------------------------------------------------- one process
def worker(name: str, steps: int) -> None:
    """Time ``steps`` train steps of workload ``name`` (after one warm-up); print JSON."""
    import nanotorch as nt
    import nanotorch.distributed as dist
    from benchmarks.workloads import _data, _labels, _resnet18, _train_step
    from nanotorch.nn.parallel import DistributedDataParallel

    ranks = int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    rank = 0
    if ranks > 1:
        dist.init_process_group("mpi")
        rank = dist.get_rank()
    nt.manual_seed(0)
    model = _resnet18(nt)
    if name == "W3":
        for p in model.parameters():
            p.requires_grad = False
    model.fc = nt.nn.Linear(512, 10)
    model.train()
    x, y = _data(nt, BATCH, 3, 112, 112), _labels(nt, BATCH, 10)
    share = slice(rank * BATCH // ranks, (rank + 1) * BATCH // ranks)
    trained = DistributedDataParallel(model) if ranks > 1 else model
    step = _train_step(nt, trained, x[share], y[share])
    step()
    times = []
    for _ in range(steps):
        if ranks > 1:
            dist.barrier()
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    if ranks > 1:   # a step takes as long as its slowest rank
        slowest = nt.tensor(times, dtype=nt.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        times = slowest.tolist()
    nbytes = sum(trained.bucket_bytes) if ranks > 1 else sum(
        p.numel() * 4 for p in model.parameters() if p.requires_grad)
    if rank == 0:
        print(json.dumps({"ms": [t * 1e3 for t in times], "bytes": nbytes}), flush=True)


# ------------------------------------------------------------------------------ driver
def _env(threads):
    return dict(os.environ, NUMBA_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                OMP_NUM_THREADS=str(threads))


def _mpiexec(ranks):
    exe = Path(sys.executable).with_name("mpiexec")
    cmd = [str(exe) if exe.exists() else shutil.which("mpiexec") or "mpiexec",
           "--oversubscribe", "-n", str(ranks)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return cmd


def _run(cmd, threads):
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(threads), capture_output=True, text=True,
                          errors="replace", timeout=1800)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc.stdout


def _workload(name, steps, ranks):
    cmd = [sys.executable, "-m", "benchmarks.distributed", "--worker", name, "--steps",
           str(steps)]
    out = _run((_mpiexec(ranks) if ranks > 1 else []) + cmd, 1 if ranks > 1 else 2)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    ms = result["ms"]
    return statistics.median(ms), min(ms), max(ms), result["bytes"]


def _recipe(ranks):
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "recipes.finetune", "--quiet", "--out", out]
        text = _run((_mpiexec(ranks) if ranks > 1 else []) + cmd, 1 if ranks > 1 else 2)
    wall = float(re.search(r"wall time ([\d.]+) s", text).group(1))
    feats = re.search(r"features cached in ([\d.]+) s", text)
    acc = re.search(r"test accuracy ([\d.]+)%", text).group(1)
    params = int(re.search(r"trainable parameters ([\d,]+)", text).group(1).replace(",", ""))
    return wall, float(feats.group(1)) if feats else 0.0, acc, params


def _estimate(nbytes, compute_ms):
    cells = []
    for n in (2, 8):
        for g in LINKS_GBIT:
            comm = ring_allreduce_seconds(nbytes, n, g) * 1e3
            busy = compute_ms / (compute_ms + comm)
            cells.append(f"N={n} {g:>3} Gb/s: {comm:8.2f} ms ({busy:.0%})")
    return cells


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", default=["W3", "W4", "recipe"])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.steps)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    for name in args.names:
        if name == "recipe":
            one = _recipe(1)
            two = _recipe(2)
            nbytes = one[3] * 4
            steps = 15 * -(-5000 // 64)
            train_one = (one[0] - one[1]) / steps * 1e3
            print(f"recipe: 1x2 threads {one[0]:.1f} s (features {one[1]:.1f} s, acc {one[2]}%)"
                  f" | 2x1 thread {two[0]:.1f} s (features {two[1]:.1f} s, acc {two[2]}%) | "
                  f"speed-up {one[0] / two[0]:.2f} | {nbytes:,} bytes all-reduced per step "
                  f"(+16 bytes of metrics)")
            cells = _estimate(nbytes, train_one)
        else:
            t1, lo1, hi1, nbytes = _workload(name, args.steps, 1)
            t2, lo2, hi2, _ = _workload(name, args.steps, 2)
            print(f"{name}: 1x2 threads {t1:.0f} ms/step ({lo1:.0f}-{hi1:.0f}) | 2x1 thread "
                  f"{t2:.0f} ms/step ({lo2:.0f}-{hi2:.0f}) | speed-up {t1 / t2:.2f} | "
                  f"{nbytes:,} bytes all-reduced per step")
            cells = _estimate(nbytes, t2)
        print("  ring all-reduce time per step across machines (share of the step spent "
              "computing):")
        for i in range(0, len(cells), 3):
            print("    " + " | ".join(cells[i:i + 3]))


if __name__ == "__main__":
    main()
