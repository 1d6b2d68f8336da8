"""Turn what the sampler yields into a batch: the same code in the main process
(``num_workers=0``) and in worker processes."""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from .dataset import Subset, TensorDataset


def _tensor_rows(dataset, indices):
    """The batch ``default_collate`` would build from a TensorDataset (possibly inside
    Subsets), gathered with one fancy index per tensor; None when that does not apply.
    A dataset whose samples are rows of tensors can offer the same by defining
    ``_collated_rows(indices)`` (nanotorch only; recipes.features.FeatureFile does)."""
    while isinstance(dataset, Subset):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    collated = getattr(dataset, "_collated_rows", None)
    if collated is not None:
        return collated(indices)
    if type(dataset) is not TensorDataset:
        return None
    if any(t.requires_grad for t in dataset.tensors):
        return None
    idx = np.asarray(indices, dtype=np.int64)
    return [Tensor._wrap(t._array[idx]) for t in dataset.tensors]


class MapFetcher:
    """Samples of a map-style dataset at the given indices (a batch's list of indices with
    auto-collation, else one index), collated."""

    def __init__(self, dataset, auto_collation, collate_fn, fast_collate):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.fast_collate = collate_fn, fast_collate

    def start(self):
        return self

    def __call__(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        indices = list(indices)
        if self.fast_collate:
            rows = _tensor_rows(self.dataset, indices)
            if rows is not None:
                return rows
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(indices) if getitems is not None else [self.dataset[i] for i in indices]
        return self.collate_fn(data)


class IterableFetcher:
    """The next batch (``len(indices)`` samples with auto-collation, else one sample) of an
    IterableDataset's iterator; StopIteration when it is exhausted (or, with
    ``drop_last``, holds less than a full batch)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last
        self.iterator = None

    def start(self):
        self.iterator = iter(self.dataset)
        return self

    def __call__(self, indices):
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        batch = []
        for sample in self.iterator:
            batch.append(sample)
            if len(batch) == len(indices):
                break
        if not batch or (self.drop_last and len(batch) < len(indices)):
            raise StopIteration
        return self.collate_fn(batch)
