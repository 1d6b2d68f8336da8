"""Datasets: the map-style ``Dataset`` protocol, ``IterableDataset``, and helpers to wrap,
subset, concatenate and randomly split them."""
from __future__ import annotations

import bisect
import math
import warnings

from ...random import default_generator, permutation
from ...tensor import Tensor


class Dataset:
    """A map-style dataset: implement ``__getitem__(index)`` and usually ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: implement ``__iter__``."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        raise TypeError("IterableDataset does not support concatenation with +")


class _DatasetArgumentError(ValueError, AssertionError):
    """Bad constructor arguments; also an AssertionError, which PyTorch raises here."""


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; all tensors share their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset expects Tensors, got {type(t).__name__} at "
                                f"position {i}")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset tensors need a first dimension; the tensor at "
                                 f"position {i} is 0-d")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            shapes = [list(t.shape) for t in tensors]
            raise _DatasetArgumentError(f"Size mismatch between tensors: the first dimensions "
                                        f"are {sizes} (shapes {shapes})")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        picked = [self.indices[i] for i in indices]
        fetch = getattr(self.dataset, "__getitems__", None)
        if fetch is not None:
            return fetch(picked)
        return [self.dataset[i] for i in picked]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other."""

    @staticmethod
    def cumsum(sequence):
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise _DatasetArgumentError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise _DatasetArgumentError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length "
                                 f"(index {idx}, length {n})")
            idx += n
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {n}")
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


def _split_lengths(n, lengths):
    """Integer lengths; fractions summing to 1 become floor(n * f) plus a round-robin
    share of the remainder."""
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        out = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1 (got {frac})")
            out.append(math.floor(n * frac))
        for i in range(n - sum(out)):
            out[i % len(out)] += 1
        for i, length in enumerate(out):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=3)
        return out
    return list(lengths)


def random_split(dataset, lengths, generator=default_generator):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (ints
    summing to ``len(dataset)``, or fractions summing to 1)."""
    n = len(dataset)
    lengths = _split_lengths(n, list(lengths))
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset! "
                         f"(lengths {lengths} sum to {sum(lengths)}, dataset has {n})")
    for i, length in enumerate(lengths):
        if int(length) != length or length < 0:
            raise ValueError(f"split lengths must be non-negative integers, got {length} at "
                             f"index {i}")
    order = permutation(n, generator).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[offset:offset + int(length)]))
        offset += int(length)
    return out


__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split"]
