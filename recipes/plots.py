"""The run's plots: ``curves.png`` (loss and accuracy per epoch, train vs test) and
``confusion.png`` (test confusion matrix with class names). Needs matplotlib, the optional
``plots`` extra; ``available()`` says whether it is installed."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from nanotorch.io.atomic import atomic_path

INSTALL_HINT = "pip install 'nanotorch[plots]'"
DPI = 100


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=True)  # files only, no display
    from matplotlib import pyplot
    return pyplot


def _save(fig, path: Path, data) -> None:
    """Write ``fig`` as PNG with the plotted numbers as JSON in its Description text chunk
    (readable with Pillow's ``Image.open(path).info``)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI,
                    metadata={"Software": "nanotorch recipes", "Description": json.dumps(data)})


def curves(rows: list[dict], path: Path, title: str = "") -> None:
    """Loss (left) and accuracy (right) per epoch, train and test; 800x320 pixels."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in rows]

    def series(key):
        return [np.nan if r.get(key) is None else r[key] for r in rows]

    from matplotlib.ticker import MaxNLocator
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=DPI)
    for ax, what in ((ax_loss, "loss"), (ax_acc, "acc")):
        ax.plot(epochs, series(f"train_{what}"), "o-", label="train", markersize=3)
        ax.plot(epochs, series(f"test_{what}"), "s-", label="test", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if what == "acc" else "cross-entropy loss")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path, rows)
    plt.close(fig)


def confusion(matrix: np.ndarray, classes: list[str], path: Path, title: str = "") -> None:
    """Confusion matrix (rows: true class, columns: predicted), counts in the cells;
    a square figure that grows with the number of classes."""
    plt = _pyplot()
    k = len(classes)
    side = min(12.0, max(4.0, 0.45 * k + 2.5))
    fig, ax = plt.subplots(figsize=(side, side), dpi=DPI)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(k), labels=classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), labels=classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > threshold else "black")
    ax.set_title(title or "test confusion matrix", fontsize=10)
    fig.tight_layout()
    _save(fig, path, {"classes": list(classes), "matrix": np.asarray(matrix).tolist()})
    plt.close(fig)
