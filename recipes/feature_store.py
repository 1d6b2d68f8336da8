"""A disk cache of a frozen part's features (``--feature-cache DIR``), so that a second run
with the same frozen weights, data and preprocessing skips the extraction (one process;
under mpiexec the ranks extract as usual).

The key is a SHA-256 of: the frozen part's state (names, shapes, dtypes and bytes of its
parameters and buffers), the split point, the data (the path and, for every file under it,
its relative name, size and modification time), the preprocessing options (image size,
grayscale, limits, bad-image policy) and ``FORMAT``. Any change gives another key; old
entries are never reused, only left for the user to delete."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

import nanotorch as torch
from nanotorch.utils.data import TensorDataset
from nanotorch.utils.finetune import head_name

FORMAT = "nanotorch-features-1"  # bump when the recipe's preprocessing changes


def frozen_state(model, point: str, method: str) -> dict:
    """The state entries that determine the features: everything before the head (``head``),
    or the modules up to and including ``point`` (``partial``)."""
    state = model.state_dict()
    if method == "head":
        head = head_name(model) + "."
        return {k: v for k, v in state.items() if not k.startswith(head)}
    from nanotorch.utils.split import split_model
    return split_model(model, point).prefix.state_dict()


def _data_fingerprint(path: Path, h) -> None:
    path = Path(path).resolve()
    h.update(str(path).encode())
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(path) if f != path else f.name}:{st.st_size}:"
                 f"{st.st_mtime_ns}".encode())


def cache_key(state: dict, point: str, args, split: str, grayscale) -> str:
    h = hashlib.sha256(FORMAT.encode())
    for name, t in state.items():
        a = np.ascontiguousarray(t.numpy())
        h.update(f"{name}:{a.shape}:{a.dtype}".encode())
        h.update(a.tobytes())
    h.update(f"point={point}".encode())
    _data_fingerprint(args.data, h)
    h.update(f"split={split}:size={args.image_size}:gray={grayscale}:train={args.train_limit}:"
             f"test={args.test_limit}:bad={args.on_bad_image}:seed={args.seed}".encode())
    return h.hexdigest()[:32]


class FeatureStore:
    """``wrap(extract, split, grayscale)`` gives an extraction function that loads the
    split's entry when it exists and otherwise extracts and saves it (atomically).
    ``hits`` counts the splits loaded from disk."""

    def __init__(self, directory, model, point: str, args):
        self.directory = Path(directory)
        self.state = frozen_state(model, point, args.method)
        self.point, self.args = point, args
        self.hits = 0

    def path(self, split: str, grayscale) -> Path:
        key = cache_key(self.state, self.point, self.args, split, grayscale)
        return self.directory / f"features-{key}.safetensors"

    def wrap(self, extract, split: str, grayscale):
        path = self.path(split, grayscale)

        def cached(model, source, batch_size):
            if path.is_file():
                entry = torch.load(path)
                self.hits += 1
                return TensorDataset(entry["features"], entry["labels"])
            dataset = extract(model, source, batch_size)
            tensors = getattr(dataset, "tensors", None)
            if tensors is not None:  # a memory-mapped feature file is not copied to disk
                os.makedirs(self.directory, exist_ok=True)
                torch.save({"features": tensors[0].contiguous(), "labels": tensors[1]}, path)
            return dataset
        return cached
