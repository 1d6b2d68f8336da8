"""A frozen backbone's features (the head's inputs), computed once, batch by batch while
the next batch is preprocessed. Up to ``MEMORY_BUDGET`` bytes they are kept in memory;
beyond it they are written to a file in the run's folder and read back row by row, so the
process stays small at any data size. The file is unlinked as soon as it is open: nothing
is left behind, even by a kill."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

import nanotorch as torch
from nanotorch.utils.data import Dataset, TensorDataset
from nanotorch.utils.finetune import head_name

MEMORY_BUDGET = 256 * 2**20  # bytes of features kept in memory; beyond: a file
# images per extraction batch are capped so that a batch has at most this many pixels
# (128 images at 64x64): the activations of large images stay within the memory goal
BATCH_PIXELS = 128 * 64 * 64


def extract(model, source, batch_size: int, directory=None, budget: int | None = None,
            progress=None):
    """Features of every sample of ``source`` (a recipes.stream.Preprocessed) with the
    model in eval mode: a TensorDataset in memory, or a FeatureFile in ``directory`` when
    they exceed ``budget`` (default MEMORY_BUDGET; without a directory always in memory).
    ``progress(n)`` is called after each batch of n samples. Batches hold at most
    ``batch_size`` images and BATCH_PIXELS pixels."""
    budget = MEMORY_BUDGET if budget is None and directory is not None else budget
    batch_size = max(1, min(batch_size, BATCH_PIXELS // source.size ** 2))
    head = model.get_submodule(head_name(model))
    captured = []
    handle = head.register_forward_pre_hook(lambda m, inputs: captured.append(inputs[0]))
    n, store = len(source), None
    model.eval()
    try:
        with torch.no_grad():
            for start, x in source.batches(batch_size):
                model(torch.from_numpy(x))
                rows = captured.pop().numpy()
                if store is None:
                    size = n * rows[0].nbytes
                    store = (_FileStore(n, rows.shape[1:], directory)
                             if budget is not None and size > budget
                             else np.empty((n,) + rows.shape[1:], np.float32))
                store[start:start + len(rows)] = rows
                if progress is not None:
                    progress(len(rows))
    finally:
        handle.remove()
    labels = torch.from_numpy(source.labels)
    if isinstance(store, _FileStore):
        return store.dataset(labels)
    return TensorDataset(torch.from_numpy(store), labels)


class _FileStore:
    """Rows written in order to an unlinked file in ``directory``."""

    def __init__(self, n, row_shape, directory):
        Path(directory).mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=".features-", suffix=".f32", dir=directory)
        self.file = os.fdopen(fd, "w+b")
        try:
            os.unlink(path)
        except OSError:  # a system that cannot unlink an open file: removed when done
            self.path = path
        else:
            self.path = None
        self.shape = (n,) + tuple(row_shape)
        self.written = 0

    def __setitem__(self, span, rows):
        assert span.start == self.written, "rows are written in order"
        self.file.write(np.ascontiguousarray(rows, np.float32).tobytes())
        self.written += len(rows)

    def dataset(self, labels):
        self.file.flush()
        return FeatureFile(self.file, self.shape, labels, self.path)


class FeatureFile(Dataset):
    """(feature row, label) samples of a float32 file, rows read with ``os.preadv`` into
    fresh arrays. Not memory-mapped: on Linux a mapped file's pages count in the process's
    resident memory, and the page cache maps whole large folios (up to megabytes) per
    fault, so random row reads would soon map the whole file."""

    def __init__(self, file, shape, labels, path=None):
        self.file, self.shape, self.labels, self.path = file, tuple(shape), labels, path
        self._row_bytes = int(np.prod(self.shape[1:])) * 4

    def __len__(self):
        return self.shape[0]

    def rows(self, indices) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        out = np.empty((len(indices),) + self.shape[1:], np.float32)
        if not len(indices):
            return out
        if indices.min() < 0 or indices.max() >= len(self):
            raise IndexError(f"feature row index out of range for {len(self)} rows")
        view, fd, size = memoryview(out).cast("B"), self.file.fileno(), self._row_bytes
        if len(indices) == 1 or (np.diff(indices) == 1).all():  # one contiguous read
            _read_exactly(fd, view, int(indices[0]) * size)
        else:
            for k, i in enumerate(indices.tolist()):
                _read_exactly(fd, view[k * size:(k + 1) * size], i * size)
        return out

    def __getitem__(self, i):
        return torch.from_numpy(self.rows([i])[0]), self.labels[i]

    def _collated_rows(self, indices):
        """The batch default_collate would build from these samples, without building
        each sample (the DataLoader's fast path, as for a TensorDataset)."""
        index = np.asarray(indices, dtype=np.int64)
        return [torch.from_numpy(self.rows(index)), self.labels[torch.from_numpy(index)]]

    @property
    def tensors(self):
        """(every feature row, labels) in memory, as TensorDataset has (used to gather
        features across processes)."""
        return torch.from_numpy(self.rows(np.arange(len(self)))), self.labels

    def __del__(self):
        path = getattr(self, "path", None)
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass


def _read_exactly(fd, view, offset):
    while len(view):
        n = os.preadv(fd, [view], offset)
        if n <= 0:
            raise OSError(f"feature file ended early (offset {offset})")
        view, offset = view[n:], offset + n
