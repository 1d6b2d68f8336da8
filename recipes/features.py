"""A frozen backbone's features (the head's inputs), computed once, batch by batch while
the next batch is preprocessed. Up to ``MEMORY_BUDGET`` bytes they are kept in memory;
beyond it they are written to a file in the run's folder and read back through a memory
map whose pages are released as training moves on, so the process stays small at any data
size. The file is unlinked as soon as it is open: nothing is left behind, even by a kill."""
from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np

import nanotorch as torch
from nanotorch.utils.data import Dataset, TensorDataset
from nanotorch.utils.finetune import head_name

MEMORY_BUDGET = 256 * 2**20  # bytes of features kept in memory; beyond: a mapped file
RELEASE_EVERY = 32 * 2**20  # bytes read from the mapped file between page releases


def extract(model, source, batch_size: int, directory=None, budget: int | None = None,
            progress=None):
    """Features of every sample of ``source`` (a recipes.stream.Preprocessed) with the
    model in eval mode: a TensorDataset in memory, or a FeatureFile in ``directory`` when
    they exceed ``budget`` (default MEMORY_BUDGET; without a directory always in memory).
    ``progress(n)`` is called after each batch of n samples."""
    budget = MEMORY_BUDGET if budget is None and directory is not None else budget
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
    """(feature row, label) samples of a float32 file read through a memory map; the
    mapped pages are released every RELEASE_EVERY bytes read, so they do not accumulate in
    the process's resident memory."""

    def __init__(self, file, shape, labels, path=None):
        self.file, self.shape, self.labels, self.path = file, tuple(shape), labels, path
        self._map = mmap.mmap(file.fileno(), int(np.prod(shape)) * 4, access=mmap.ACCESS_READ)
        self._rows = np.frombuffer(self._map, np.float32).reshape(self.shape)
        self._read = 0

    def __len__(self):
        return self.shape[0]

    def rows(self, indices) -> np.ndarray:
        out = self._rows[np.asarray(indices, dtype=np.int64)]
        self._read += out.nbytes
        if self._read >= RELEASE_EVERY and hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)  # the page cache keeps the data
            self._read = 0
        return out

    def __getitem__(self, i):
        return torch.from_numpy(self.rows([i])[0]), self.labels[i]

    def __getitems__(self, indices):
        rows, labels = self.rows(indices), self.labels[torch.tensor(list(indices))]
        return [(torch.from_numpy(r), y) for r, y in zip(rows, labels)]

    @property
    def tensors(self):
        """(all feature rows as a tensor viewing the map, labels), as TensorDataset has."""
        return torch.from_numpy(self._rows), self.labels

    def __del__(self):
        path = getattr(self, "path", None)
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass
