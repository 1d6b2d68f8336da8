"""The README's model-zoo table: every model in ``nanotorch.models`` with its parameter count
(from a shape-only build of the model itself) and its eval throughput at 224x224 (eval mode,
no_grad, random weights, batch 8: the median of three batches after a warm-up batch, each
model in a fresh process).

    python -m benchmarks.zoo_table                                  # counts only
    python -m benchmarks.zoo_table --measure resnet50 swin_t        # time some models
    python -m benchmarks.zoo_table --measure all --json runs/zoo.json --readme README.md

With ``--json`` measurements are kept in that file, and models already there are not timed
again (delete the file to start over); ``--readme`` rewrites the table between the two
``benchmarks.zoo_table`` marker comments of that file."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks._readme import replace_section

BEGIN = "<!-- benchmarks.zoo_table: begin (generated; edit benchmarks/zoo_table.py) -->"
END = "<!-- benchmarks.zoo_table: end -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def eval_throughput(name: str, batch: int, repeats: int) -> float:
    """Images per second of ``name`` in eval mode under no_grad (median of ``repeats``
    batches after one warm-up batch), in this process."""
    import numpy as np

    import nanotorch as nt
    from nanotorch import models
    model = models.get_model(name).eval()
    x = nt.from_numpy(np.random.default_rng(0).standard_normal(
        (batch, 3, 224, 224)).astype(np.float32))
    times = []
    with nt.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            model(x)
            if i:
                times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def measure_in_subprocess(name: str, batch: int, repeats: int, timeout: float) -> dict:
    """{"img_s": float} or {"error": text}: one model timed in a fresh process, so that one
    model's memory does not weigh on the next."""
    cmd = [sys.executable, "-m", "benchmarks.zoo_table", "--one", name, "--batch", str(batch),
           "--repeats", str(repeats)]
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return {"img_s": float(out.stdout.split()[-1])}


def table(results: dict, batch: int) -> str:
    """The markdown table: every model, its parameters, default weights and throughput."""
    from nanotorch import models
    from nanotorch.models._shape_only import count_parameters
    lines = [f"| model | parameters | default weights | eval img/s (batch {batch}, 224 px) |",
             "|---|---:|---|---:|"]
    for name in models.list_models():
        weights = models.get_model_weights(name).DEFAULT
        r = results.get(name, {})
        speed = f"{r['img_s']:.1f}" if "img_s" in r else r.get("error", "not measured")
        count = f"{count_parameters(name):,}"
        published = weights.meta.get("num_params")
        if published and published != count_parameters(name):  # vit_h_14: 518 px weights
            count += (f" ({published:,} at {weights.meta.get('min_size', ('?',))[0]} px, its "
                      f"weights' size)")
        lines.append(f"| {name} | {count} | {weights} | {speed} |")
    return "\n".join(lines)



def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.zoo_table",
                                description=__doc__.splitlines()[0])
    p.add_argument("--measure", nargs="*", default=[],
                   help="models to time (eval, 224 px), or 'all'")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--timeout", type=float, default=900, help="seconds per model")
    p.add_argument("--json", metavar="PATH", help="keep the measurements in this file")
    p.add_argument("--readme", metavar="PATH", help="rewrite the table in this README")
    p.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)  # the subprocess's job
    args = p.parse_args(argv)
    if args.one:
        print(f"{eval_throughput(args.one, args.batch, args.repeats):.3f}")
        return
    from nanotorch import models
    results = {}
    if args.json and os.path.exists(args.json):
        with open(args.json) as f:
            results = json.load(f)["models"]
    wanted = models.list_models() if args.measure == ["all"] else args.measure
    for name in wanted:
        if "img_s" in results.get(name, {}):
            continue
        results[name] = measure_in_subprocess(name, args.batch, args.repeats, args.timeout)
        print(f"# {name}: {results[name]}", file=sys.stderr, flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"batch": args.batch, "models": results}, f, indent=1)
    section = table(results, args.batch)
    if args.readme:
        replace_section(args.readme, BEGIN, END, section)
    else:
        print(section)


if __name__ == "__main__":
    main()
