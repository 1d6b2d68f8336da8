"""Gradient averaging for DistributedDataParallel: parameters in buckets (reverse order, as
autograd produces their gradients), each bucket all-reduced without blocking as soon as its
last gradient is accumulated, all of them awaited when the last bucket has been launched."""
from __future__ import annotations

import numpy as np

from ... import distributed as dist
from ...tensor import Tensor

FIRST_BUCKET_BYTES = 1024 * 1024   # PyTorch's first bucket is small so communication starts early


def assign_buckets(params, cap_bytes, first_cap_bytes):
    """Lists of parameter indices, last parameter first, each bucket one dtype and closed
    once it reaches its cap (the first bucket's cap is ``first_cap_bytes``)."""
    buckets, current, size, dtype = [], [], 0, None
    for i in reversed(range(len(params))):
        p = params[i]
        if current and p._array.dtype != dtype:
            buckets.append(current)
            current, size = [], 0
        current.append(i)
        dtype = p._array.dtype
        size += p._array.nbytes
        if size >= (first_cap_bytes if not buckets else cap_bytes):
            buckets.append(current)
            current, size = [], 0
    if current:
        buckets.append(current)
    return buckets


class _Bucket:
    def __init__(self, indices, params):
        self.indices = indices
        sizes = [params[i]._array.size for i in indices]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.flat = np.empty(int(self.offsets[-1]), params[indices[0]]._array.dtype)
        self.pending = len(indices)
        self.work = None


class Reducer:
    """Tracks which gradients are ready in the current backward pass and reduces them."""

    def __init__(self, params, bucket_cap_bytes, first_bucket_cap_bytes, find_unused_parameters):
        self.params = params
        self.find_unused = find_unused_parameters
        self.buckets = [_Bucket(ix, params) for ix in assign_buckets(params, bucket_cap_bytes,
                                                                   first_bucket_cap_bytes)]
        self.slot = {}
        for b, bucket in enumerate(self.buckets):
            for k, i in enumerate(bucket.indices):
                self.slot[i] = (b, k)
        self.world = dist.get_world_size()
        self.expecting = False     # a synchronising forward ran; its backward is awaited
        self.started = False       # some gradient of that backward has arrived
        self.ready = np.zeros(len(params), bool)
        self.used = np.zeros(len(params), np.int32)
        self.next_bucket = 0

    @property
    def bucket_bytes(self):
        return [b.flat.nbytes for b in self.buckets]

    def check_prior_reduction_finished(self):
        """Raise PyTorch's error when the last backward left some bucket unreduced."""
        if self.started:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one. This error indicates that your module has parameters that were not "
                "used in producing loss. You can enable unused parameter detection by passing "
                "the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all "
                "`forward` function outputs participate in calculating loss.")

    def prepare_for_backward(self, unused_indices=()):
        """Reset the accounting after a synchronising forward (``unused_indices``: parameters
        the output does not depend on, ready at once)."""
        self.expecting = True
        self.ready[:] = False
        self.used[:] = 1
        self.next_bucket = 0
        for b in self.buckets:
            b.pending, b.work = len(b.indices), None
        for i in unused_indices:
            self.used[i] = 0
        for i in unused_indices:
            self.mark_ready(i)

    def mark_ready(self, i):
        """Gradient ``i`` is final for this backward pass (a post-accumulate-grad hook)."""
        if not self.expecting:
            return
        if self.ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter index {i} was marked "
                "ready twice in one iteration (a parameter used by a reentrant backward or "
                "backward called twice through the same DDP forward).")
        self.started = True
        self.ready[i] = True
        b, _ = self.slot[i]
        self.buckets[b].pending -= 1
        self._progress()
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            self._launch(self.buckets[self.next_bucket])
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self._finalize()

    def _progress(self):
        # MPI advances non-blocking collectives only inside MPI calls: poke the open ones.
        for b in self.buckets[:self.next_bucket]:
            b.work.is_completed()

    def _launch(self, bucket):
        for k, i in enumerate(bucket.indices):
            g = self.params[i].grad
            part = bucket.flat[bucket.offsets[k]:bucket.offsets[k + 1]]
            if g is None:
                part.fill(0)
            else:
                part[:] = g._array.reshape(-1)
        # divide before summing, as PyTorch does (keeps the sum in range)
        np.multiply(bucket.flat, 1.0 / self.world, out=bucket.flat)
        bucket.work = dist.all_reduce(Tensor._wrap(bucket.flat), async_op=True)

    def _finalize(self):
        globally_used = self.used
        if self.find_unused:
            flags = Tensor._wrap(self.used.copy())
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
            globally_used = flags._array
        for bucket in self.buckets:
            bucket.work.wait()
            for k, i in enumerate(bucket.indices):
                if not globally_used[i]:
                    continue
                p = self.params[i]
                value = bucket.flat[bucket.offsets[k]:bucket.offsets[k + 1]].reshape(p._array.shape)
                if p.grad is None or not p.grad._array.flags.writeable:
                    p.grad = Tensor._wrap(value.copy())
                else:
                    np.copyto(p.grad._array, value)
                    p.grad._bump_version()
        self.expecting = self.started = False
