"""A run's records in its output folder: metrics per epoch (``metrics.jsonl``,
``metrics.csv``), the test confusion matrix and per-class accuracy.

The epoch rows come from the checkpoint's history, so the files always agree with the
checkpoint; timings (not part of the bit-exact checkpoint) are kept from the previous
``metrics.jsonl`` for epochs this process did not run."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from nanotorch.io.atomic import atomic_write

JSONL, CSV = "metrics.jsonl", "metrics.csv"
COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "images_per_s",
           "epoch_s")


def read_rows(out: Path) -> list[dict]:
    """The rows of ``OUT/metrics.jsonl`` (empty when missing or unreadable)."""
    try:
        lines = (Path(out) / JSONL).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError):
        return []


def write_metrics(out: Path, history: list[dict], timings: dict) -> list[dict]:
    """Rewrite both metrics files from ``history``; ``timings`` maps epoch -> {images_per_s,
    epoch_s} measured by this process. Returns the rows written."""
    old = {row.get("epoch"): row for row in read_rows(out)}
    rows = []
    for h in history:
        row = {key: h.get(key) for key in COLUMNS}
        timing = timings.get(h["epoch"]) or old.get(h["epoch"], {})
        for key in ("images_per_s", "epoch_s"):
            row[key] = timing.get(key)
        rows.append(row)
    text = "".join(json.dumps(_finite(row)) + "\n" for row in rows)
    atomic_write(Path(out) / JSONL, lambda f: f.write(text.encode()))

    def write_csv(f):
        import io
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        f.write(buffer.getvalue().encode())

    atomic_write(Path(out) / CSV, write_csv)
    return rows


def _finite(row: dict) -> dict:
    # JSON has no NaN: an epoch without training steps records null
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


def confusion_matrix(predicted, target, num_classes: int) -> np.ndarray:
    """Counts ``m[true, predicted]`` as int64."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(target, np.int64), np.asarray(predicted, np.int64)), 1)
    return m


def per_class_lines(matrix: np.ndarray, classes: list[str]) -> list[str]:
    """A line per class: name, accuracy (recall) and correct/total test images."""
    width = max(len(c) for c in classes)
    lines = []
    for i, name in enumerate(classes):
        total, hits = int(matrix[i].sum()), int(matrix[i, i])
        acc = f"{hits / total:7.2%}" if total else "      -"
        lines.append(f"  {name:<{width}}  {acc}  ({hits}/{total})")
    return lines


def write_confusion(out: Path, matrix: np.ndarray, classes: list[str]) -> None:
    """``OUT/confusion.json``: class names and the matrix (rows: true class)."""
    text = json.dumps({"classes": list(classes), "matrix": matrix.tolist()})
    atomic_write(Path(out) / "confusion.json", lambda f: f.write(text.encode()))
