"""Classify images with a fine-tuned model (or a pretrained one): top-k class names with
probabilities, as a table or as JSON.

examples:
  python -m recipes.predict --checkpoint runs/finetune/best.safetensors photo.jpg photos/
  python -m recipes.predict --model mobilenet_v2 --weights IMAGENET1K_V1 --top-k 3 cat.jpg
  python -m recipes.predict --checkpoint runs/pets/best.safetensors --json photos/ > out.json

Images are preprocessed as the model's test images were (the recipe's resize and
normalisation recorded in the checkpoint; a pretrained model's own evaluation transform)
and classified in batches of --batch-size.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nanotorch as torch
from nanotorch import models
from nanotorch.vision.image_io import ImageReadError, is_image_file, load_image

from .checkpoint_model import Loaded, load_checkpoint, pretrained

PROG = "python -m recipes.predict"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="image files, or folders searched recursively for images")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="OUT/best.safetensors or OUT/checkpoint.safetensors "
                                          "of a recipes.finetune run")
    src.add_argument("--model", choices=models.list_models(), metavar="NAME",
                     help="a pretrained zoo model instead of a checkpoint (with --weights)")
    p.add_argument("--weights", default="IMAGENET1K_V1",
                   help="--model's weight set (default: %(default)s)")
    p.add_argument("--top-k", type=int, default=5, help="classes shown per image "
                                                        "(default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="images per forward pass "
                                                              "(default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of "
                                                       "the table")
    args = p.parse_args(argv)
    for name in ("top_k", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    return args


def image_paths(paths) -> list[Path]:
    """The given files, and the image files under the given folders (sorted)."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return found


def predict(loaded: Loaded, paths, top_k: int = 5, batch_size: int = 32) -> list[dict]:
    """One entry per image: ``{"path", "top": [{"class", "index", "prob"}, ...]}``, or
    ``{"path", "error"}`` for a file that cannot be read as an image."""
    k = min(top_k, len(loaded.classes))
    results, batch, where = [], [], []

    def flush():
        if not batch:
            return
        with torch.no_grad():
            probs = torch.softmax(loaded.model(torch.stack(batch)), dim=1)
        values, indices = probs.topk(k, dim=1)
        for i, (v, c) in zip(where, zip(values.tolist(), indices.tolist())):
            results[i]["top"] = [{"class": loaded.classes[j], "index": j, "prob": p}
                                 for p, j in zip(v, c)]
        batch.clear()
        where.clear()

    for path in paths:
        results.append({"path": str(path)})
        try:
            image = load_image(path, loaded.mode)
        except (ImageReadError, OSError) as e:
            results[-1]["error"] = str(e)
            continue
        batch.append(loaded.transform(image))
        where.append(len(results) - 1)
        if len(batch) == batch_size:
            flush()
    flush()
    return results


def format_table(results: list[dict]) -> str:
    width = max(len(r["path"]) for r in results)
    lines = []
    for r in results:
        if "error" in r:
            lines.append(f"{r['path']:<{width}}  error: {r['error']}")
            continue
        top = "  ".join(f"{t['class']} {t['prob']:.2%}" for t in r["top"])
        lines.append(f"{r['path']:<{width}}  {top}")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    try:
        loaded = (load_checkpoint(args.checkpoint) if args.checkpoint
                  else pretrained(args.model, args.weights))
        paths = image_paths(args.paths)
        if not paths:
            raise FileNotFoundError(f"no image files in {' '.join(args.paths)}")
        results = predict(loaded, paths, args.top_k, args.batch_size)
    except (ValueError, OSError, KeyError, RuntimeError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"{PROG}: error: {' '.join(str(text).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.json:
        print(json.dumps({"model": loaded.description, "results": results}, indent=1))
    else:
        print(f"{loaded.description}: {len(loaded.classes)} classes")
        print(format_table(results))
    if any("error" in r for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
