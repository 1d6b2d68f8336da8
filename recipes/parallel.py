"""The recipe under ``mpiexec -n N``: data parallelism over nanotorch.distributed.

Every rank builds the same global batches (same seeds) and trains on its slice of each
(``--batch-size`` is the global batch, about B/N per rank); DistributedDataParallel averages
the gradients, weighted so the update is the full batch's. Feature extraction and evaluation
are split into one shard per rank and combined. Only rank 0 locks ``--out``, writes files and
prints. A single process (no mpiexec, or ``-n 1``) gets ``Single``, which changes nothing."""
from __future__ import annotations

import contextlib
import os
import sys

import nanotorch as torch
from nanotorch import distributed as dist
from nanotorch.nn import functional as F
from nanotorch.nn.parallel import DistributedDataParallel
from nanotorch.utils.data import TensorDataset

# world-size variables of the common MPI launchers (Open MPI, MPICH/Intel MPI hydra, PMIx)
_LAUNCHER_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def launched_size() -> int:
    """Number of processes mpiexec started (1 when not started by mpiexec)."""
    for name in _LAUNCHER_SIZE_VARS:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


class Single:
    """One process: every method is the plain single-process behaviour."""

    rank, size, is_main = 0, 1, True

    def lock(self, make_lock, out):
        return make_lock(out)

    def wrap(self, net):
        return net

    def unwrap(self, net):
        return net

    def shard(self, x, y):
        return x, y, len(y)

    def loss(self, logits, y, batch_n, label_smoothing=0.0):
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)

    def totals(self, loss, logits, y, batch_n):
        return loss.item() * len(y), int((logits.argmax(1) == y).sum().item())

    def any(self, flag: bool) -> bool:
        return flag

    def features(self, extract, model, dataset, batch_size):
        return extract(model, dataset, batch_size)

    def evaluate(self, evaluate, net, dataset, batch_size):
        return evaluate(net, dataset, batch_size)


class _NoLock:
    previous_pid = None


class Group(Single):
    """Rank ``rank`` of ``size`` processes."""

    def __init__(self):
        if not dist.is_initialized():
            dist.init_process_group(backend="mpi")
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0

    def lock(self, make_lock, out):
        # only rank 0 writes to --out, so only it holds the run lock
        return make_lock(out) if self.is_main else contextlib.nullcontext(_NoLock())

    def wrap(self, net):
        return DistributedDataParallel(net)

    def unwrap(self, net):
        return net.module if isinstance(net, DistributedDataParallel) else net

    def _span(self, n):
        return n * self.rank // self.size, n * (self.rank + 1) // self.size

    def shard(self, x, y):
        start, stop = self._span(len(y))
        return x[start:stop], y[start:stop], len(y)

    def loss(self, logits, y, batch_n, label_smoothing=0.0):
        # DDP averages over ranks: sum / batch_n * size makes that average the batch mean
        return F.cross_entropy(logits, y, reduction="sum",
                               label_smoothing=label_smoothing) * (self.size / batch_n)

    def totals(self, loss, logits, y, batch_n):
        local = [loss.item() * batch_n / self.size, float((logits.argmax(1) == y).sum().item())]
        both = torch.tensor(local, dtype=torch.float64)
        dist.all_reduce(both)
        return float(both[0]), int(round(float(both[1])))

    def any(self, flag: bool) -> bool:
        t = torch.tensor([int(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def features(self, extract, model, dataset, batch_size):
        """Each rank extracts the features of one shard (padded to equal sizes); every rank
        gets all of them, in order."""
        labels = torch.from_numpy(dataset.labels)  # a recipes.stream.Preprocessed
        n = len(labels)
        per_rank = -(-n // self.size)
        start = min(self.rank * per_rank, n)
        stop = min(start + per_rank, n)
        index = torch.arange(start, start + per_rank).clamp(max=max(stop - 1, 0))
        mine = extract(model, dataset.select(index.tolist()), batch_size).tensors[0]
        gathered = torch.empty(self.size * per_rank, *mine.shape[1:], dtype=mine.dtype)
        dist.all_gather_into_tensor(gathered, mine.contiguous())
        return TensorDataset(gathered[:n].contiguous(), labels)

    def evaluate(self, evaluate, net, dataset, batch_size):
        """Loss and accuracy over the whole dataset, each rank evaluating one shard."""
        module = net.module if isinstance(net, DistributedDataParallel) else net
        images, labels = dataset.tensors
        start, stop = self._span(len(labels))
        n = stop - start
        loss, acc = (evaluate(module, TensorDataset(images[start:stop], labels[start:stop]),
                              batch_size) if n else (0.0, 0.0))
        sums = torch.tensor([loss * n, acc * n, float(n)], dtype=torch.float64)
        dist.all_reduce(sums)
        total = float(sums[2])
        return float(sums[0]) / total, round(float(sums[1])) / total


def setup():
    """``Group`` when started by mpiexec with more than one process, else ``Single``."""
    return Group() if launched_size() > 1 else Single()


def abort_others(code: int) -> None:
    """Under mpiexec, end every rank after this one's error (they would wait for it in their
    next collective); nothing in a single process."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        sys.stderr.flush()
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(code)
