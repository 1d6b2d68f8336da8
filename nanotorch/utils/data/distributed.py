"""``DistributedSampler``: each rank's share of the dataset indices, in PyTorch's order."""
from __future__ import annotations

import math

from ... import distributed as dist
from ...creation import randperm
from ...random import Generator
from .sampler import Sampler


class DistributedSampler(Sampler):
    """Rank ``rank`` of ``num_replicas`` visits every ``num_replicas``-th index of one
    permutation (seeded with ``seed + epoch``, so all ranks agree; call ``set_epoch`` each
    epoch). Without ``drop_last`` the list is padded by repeating its start so the shards
    are equal; with it the tail that does not divide evenly is dropped. ``num_replicas`` and
    ``rank`` default to the process group's."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _all_indices(self) -> list[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            return indices[:self.total_size]
        missing = self.total_size - n
        if missing and indices:
            repeats = math.ceil(missing / n)
            indices += (indices * repeats)[:missing]
        return indices

    def __iter__(self):
        return iter(self._all_indices()[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use permutation ``seed + epoch`` from now on (the same on every rank)."""
        self.epoch = epoch
