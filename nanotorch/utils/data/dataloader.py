"""``DataLoader``: batches of samples from a dataset, plus ``default_collate`` /
``default_convert``.

``num_workers=0`` loads in the calling process; ``num_workers > 0`` in worker processes
(``_multiprocess.py``, ``_worker.py``) seeded as PyTorch seeds them.
"""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ... import random
from ...functions import stack
from ...tensor import Tensor
from ._fetch import IterableFetcher, MapFetcher
from ._multiprocess import MultiProcessIter
from ._worker import get_worker_info
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_COLLATE_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                "lists; found {}")


def _numpy_batch(arrays):
    """Stack same-shaped numeric numpy arrays into one Tensor."""
    first = arrays[0]
    if first.dtype.kind in "SUaOV":
        raise TypeError(_COLLATE_ERR.format(first.dtype))
    for i, a in enumerate(arrays):
        if a.shape != first.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first.shape)} at entry 0 and {list(a.shape)} at entry {i}")
    out = np.stack(arrays)
    if out.dtype.kind not in "biuf" or out.dtype.itemsize > 8:
        raise TypeError(f"default_collate: numpy arrays of dtype {out.dtype} have no tensor "
                        "dtype")
    return Tensor._wrap(out)


def default_collate(batch):
    """Merge a list of samples into a batch, as PyTorch does.

    Tensors and numpy arrays are stacked along a new first dimension (numpy scalars keep
    their dtype), Python ints become an int64 tensor, floats a float64 tensor, bools a
    bool tensor; strings are returned as given. Dicts, namedtuples, lists and tuples are
    collated field by field (a tuple sample gives a list of fields)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        return _numpy_batch(list(batch))
    if isinstance(elem, np.generic) and elem.dtype.kind not in "SUaOV":
        return _numpy_batch([np.asarray(b) for b in batch])
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: default_collate([d[key] for d in batch]) for key in elem}
        if type(elem) is dict:
            return merged
        if isinstance(elem, collections.abc.MutableMapping):
            out = copy.copy(elem)
            out.update(merged)
            return out
        try:
            return type(elem)(merged)
        except TypeError:
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size (sizes "
                               f"{[len(b) for b in batch]})")
        fields = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def default_convert(data):
    """Turn numpy arrays (also inside dicts/tuples/lists) into Tensors; leave the rest."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SUaOV" else Tensor._wrap(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "SUaOV":
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        merged = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(merged)
        except TypeError:
            return merged
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        items = [default_convert(d) for d in data]
        try:
            return type(data)(items)
        except TypeError:
            return items
    return data


class _InfiniteConstantSampler(Sampler):
    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in batches (``torch.utils.data.DataLoader``).

    Same arguments and defaults as PyTorch. ``shuffle=True`` draws a new order every epoch
    (reproducible with ``nanotorch.manual_seed`` or ``generator=``). ``num_workers > 0``
    loads in that many processes, with ``worker_init_fn``, ``get_worker_info()``,
    ``prefetch_factor`` (default 2), ``persistent_workers``, ``timeout`` and ``in_order``
    as PyTorch; ``pin_memory`` is accepted and does nothing (CPU only).
    """

    _locked = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             f"disable multiprocessing (got {num_workers}).")
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative (got {timeout})")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        elif shuffle not in (None, False, True):
            raise TypeError(f"DataLoader: shuffle should be a boolean, got {shuffle!r}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterator = None  # the persistent workers' iterator, reused every epoch
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.__initialized = True

    def __setattr__(self, name, value):
        if self.__dict__.get("_DataLoader__initialized") and name in self._locked:
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        # PyTorch draws each iterator's worker base seed (one int64 ``random_()``) when the
        # iterator is made, before the sampler's first draw; drawing it too keeps the global
        # stream (and so shuffling and everything after) in step with torch. Persistent
        # workers keep their iterator, and so their seeds, across epochs.
        if (self.num_workers > 0 and self.persistent_workers and self._iterator is not None
                and not self._iterator._workers.closed):
            self._iterator._reset(self)
            return self._iterator
        base_seed = int(random.random_bits((), np.int64, self.generator))
        self._base_seed = base_seed
        fetcher = self._fetcher()
        if self.num_workers == 0:
            return self._iter_here(fetcher.start())
        iterator = MultiProcessIter(self, base_seed, fetcher)
        if self.persistent_workers:
            self._iterator = iterator
        return iterator

    def _fetcher(self):
        if isinstance(self.dataset, IterableDataset):
            return IterableFetcher(self.dataset, self._auto_collation, self.collate_fn,
                                   self.drop_last)
        return MapFetcher(self.dataset, self._auto_collation, self.collate_fn,
                          self.collate_fn is default_collate)

    def _iter_here(self, fetcher):
        for indices in self._index_sampler:
            try:
                batch = fetcher(indices)
            except StopIteration:
                return
            yield batch


__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
