"""The default recipe (``python -m recipes.finetune``) against the same job written by a
PyTorch expert (benchmarks/recipe_expert_torch.py), each as its own process, alternating
nanotorch and torch ``--repeat`` times. Reports the work-in-process time (what each prints:
the recipe's "wall time", the script's ``work_s``), the whole-process time (imports
included) and the peak resident memory of each, with the ratios nanotorch / torch.

    python -m benchmarks.recipe_expert                       # the default recipe
    python -m benchmarks.recipe_expert --repeat 3 -- --data /usr/share/datasets/fashion-mnist \\
        --image-size 64

Options after ``--`` go to both sides (--data, --image-size, --epochs, --batch-size, --lr,
--momentum, --train-limit, --test-limit, --seed)."""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDES = {"nanotorch": ["recipes.finetune", "--quiet"],  # python -m ...
         "torch": ["benchmarks.recipe_expert_torch"]}
_WORK = {"nanotorch": re.compile(r"wall time ([\d.]+) s"),
         "torch": re.compile(r"work_s=([\d.]+)")}
_ACC = {"nanotorch": re.compile(r"test accuracy ([\d.]+)%"),
        "torch": re.compile(r"test_acc=([\d.]+)")}


def run_side(side: str, argv=(), threads: int | None = None) -> dict:
    """One run of ``side`` ("nanotorch" or "torch") in a fresh process: work seconds, whole
    process seconds, peak RSS bytes (the child's own VmHWM, see benchmarks/_peak.py) and test
    accuracy (%)."""
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryFile("w+") as log:
        extra = ["--out", out] if side == "nanotorch" else []
        peak_file = os.path.join(out, "peak_rss")
        module, *options = SIDES[side]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "benchmarks._peak", peak_file, module,
                               *options, *extra, *argv], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, text=True)
        whole = time.perf_counter() - t0
        log.seek(0)
        text = log.read()
        peak = int(open(peak_file).read()) if os.path.exists(peak_file) else None
    if proc.returncode:
        raise RuntimeError(f"{side} run failed ({proc.returncode}): {text[-2000:]}")
    acc = _ACC[side].findall(text)
    return {"work_s": float(_WORK[side].findall(text)[-1]), "whole_s": whole,
            "peak_rss": peak,
            "test_acc": float(acc[-1]) * (1 if side == "nanotorch" else 100) if acc else None}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    passed = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="default: each library's own")
    args = p.parse_args(own)
    runs = {"nanotorch": [], "torch": []}
    for _ in range(args.repeat):
        for side in runs:
            r = run_side(side, passed, args.threads)
            runs[side].append(r)
            print(f"# {side}: work {r['work_s']:.2f} s, whole {r['whole_s']:.2f} s, peak "
                  f"{_mib(r['peak_rss'])}, test acc {r['test_acc']:.2f}%", flush=True)
    print(f"# load: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores)")
    print("| measure | nanotorch | torch expert | ratio (nt/torch) |\n|---|---|---|---|")
    for key, label in (("work_s", "work in process"), ("whole_s", "whole process")):
        nt, th = (statistics.median(r[key] for r in runs[s]) for s in runs)
        span = {s: f"{min(r[key] for r in runs[s]):.1f}-{max(r[key] for r in runs[s]):.1f}"
                for s in runs}
        print(f"| {label} (s, median; range) | {nt:.1f} ({span['nanotorch']}) | {th:.1f} "
              f"({span['torch']}) | {nt / th:.2f} |")
    peaks = {s: max((r["peak_rss"] or 0) for r in runs[s]) for s in runs}
    ratio = f"{peaks['nanotorch'] / peaks['torch']:.2f}" if all(peaks.values()) else "-"
    print(f"| peak RSS | {_mib(peaks['nanotorch'])} | {_mib(peaks['torch'])} | {ratio} |")
    return runs


def _mib(b):
    return "-" if not b else f"{b / 2**20:.0f} MiB"


if __name__ == "__main__":
    main()
