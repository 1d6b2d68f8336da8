"""One augmented ImageFolder epoch of camera-size JPEGs with DataLoader(num_workers=N),
N = 0 and 2 interleaved, repeated; prints seconds per epoch and the 0/2 ratio.

  python -m benchmarks.dataloader_workers [--images 48] [--size 2000x1500] [--repeats 3]

The persistent loader's workers are started before the timed epochs (its CPU column counts
the main process only: its workers are not reaped until the end). The JPEGs are written once
into a temporary folder: the repository's photos scaled up to --size with noise (so they
compress like photos), quality 90."""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import nanotorch as nt
from nanotorch.utils.data import DataLoader
from nanotorch.vision import transforms as T
from nanotorch.vision.datasets import ImageFolder

PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"


def make_jpegs(root: Path, count: int, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    sources = [Image.open(p).convert("RGB") for p in sorted(PHOTOS.glob("*.jpg"))]
    for i in range(count):
        base = np.asarray(sources[i % len(sources)].resize(size), dtype=np.int16)
        noisy = np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8)
        folder = root / f"class{i % len(sources)}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(noisy).save(folder / f"{i}.jpg", quality=90)


def _cpu_seconds() -> float:
    # this process and its reaped children (the workers, joined at the end of the epoch)
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def epoch_seconds(dataset, workers: int, batch_size: int, loader=None) -> tuple[float, float]:
    """(wall, CPU) seconds of one epoch; CPU counts every process, so it shows the
    workers' overhead whatever the machine's load."""
    if loader is None:
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                            generator=nt.Generator().manual_seed(0))
    start, cpu = time.perf_counter(), _cpu_seconds()
    for images, _ in loader:
        assert images.shape[1:] == (3, 224, 224)
    return time.perf_counter() - start, _cpu_seconds() - cpu


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=48)
    p.add_argument("--size", default="2000x1500", help="JPEG width x height")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    augment = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                         T.ToTensor(),
                         T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with tempfile.TemporaryDirectory() as tmp:
        make_jpegs(Path(tmp), args.images, (width, height))
        dataset = ImageFolder(tmp, transform=augment)
        epoch_seconds(dataset, 0, args.batch_size)  # warm-up: first decode, kernel compiles
        times = {0: [], 2: [], "2 persistent": []}
        persistent = DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                num_workers=2, persistent_workers=True)
        epoch_seconds(dataset, 2, args.batch_size, persistent)  # starts its workers
        load = os.getloadavg()[0]
        for _ in range(args.repeats):
            for workers in times:
                times[workers].append(epoch_seconds(
                    dataset, 2 if workers == "2 persistent" else workers, args.batch_size,
                    persistent if workers == "2 persistent" else None))
    print(f"{args.images} JPEGs {width}x{height}, RandomResizedCrop(224)+flip, "
          f"batch {args.batch_size}, load {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    for workers, values in times.items():
        print(f"num_workers={workers}: wall " + " ".join(f"{w:.2f}" for w, _ in values)
              + " s/epoch; CPU (all processes) " + " ".join(f"{c:.2f}" for _, c in values))
    for other in (2, "2 persistent"):
        ratios = [a[0] / b[0] for a, b in zip(times[0], times[other])]
        print(f"speed-up {other} workers vs 0 (per repeat): "
              + " ".join(f"{r:.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
