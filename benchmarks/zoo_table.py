"""The README's model-zoo table: every model in ``nanotorch.models`` with its parameter count
(from a shape-only build of the model itself) and, for the models named with ``--measure``,
its eval throughput at 224x224.

    python -m benchmarks.zoo_table                                   # counts only
    python -m benchmarks.zoo_table --measure mobilenet_v3_small resnet50 --batch 8
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nanotorch as nt
from nanotorch import models
from nanotorch.models._shape_only import count_parameters


def eval_throughput(name: str, batch: int, repeats: int) -> float:
    """Images per second of ``name`` in eval mode under no_grad (median of ``repeats``
    batches after one warm-up batch)."""
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


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.zoo_table",
                                description=__doc__.splitlines()[0])
    p.add_argument("--measure", nargs="*", default=[], help="models to time (eval, 224 px)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"| model | parameters | default weights | eval img/s (batch {args.batch}, 224 px) |")
    print("|---|---:|---|---:|")
    for name in models.list_models():
        weights = models.get_model_weights(name).DEFAULT
        speed = f"{eval_throughput(name, args.batch, args.repeats):.1f}" \
            if name in args.measure else "not measured"
        print(f"| {name} | {count_parameters(name):,} | {weights} | {speed} |", flush=True)


if __name__ == "__main__":
    main()
