"""The DataLoader worker process: seeded as PyTorch seeds its workers, it fetches and
collates the batches whose indices the main process sends, and sends them back."""
from __future__ import annotations

import os
import queue
import random as py_random
import signal
import sys
import traceback

import numpy as np

# How often (seconds) a waiting worker checks that its parent is still alive.
STATUS_CHECK_INTERVAL = 1.0

_worker_info = None


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``,
    ``seed`` (this worker's ``base_seed + id``) and its copy of ``dataset``."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __setattr__(self, name, value):
        if hasattr(self, name):
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        object.__setattr__(self, name, value)

    def __repr__(self):
        fields = ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__)
        return f"{type(self).__name__}({fields})"


def get_worker_info():
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; None in the main
    process."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.message = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        message = (f"Caught {self.exc_type.__name__} {self.where}.\nOriginal "
                   f"{self.message}")
        if self.exc_type is KeyError:  # KeyError would show the message as a repr
            message = _KeyErrorMessage(message)
        try:
            error = self.exc_type(message)
        except Exception:  # an exception type that needs other constructor arguments
            raise RuntimeError(message) from None
        raise error


class _KeyErrorMessage(str):
    def __repr__(self):
        return self


class IterationEnd:
    """Sent by a worker whose IterableDataset iterator is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


def numpy_seed(base_seed, worker_id):
    """The NumPy global seed PyTorch gives worker ``worker_id``: four 32-bit words of a
    SeedSequence over (worker_id, low and high words of base_seed, 0)."""
    words = [worker_id, base_seed & 0xFFFFFFFF, (base_seed >> 32) & 0xFFFFFFFF, 0]
    return np.random.SeedSequence(words).generate_state(4)


def _parent_alive(parent_pid):
    return os.getppid() == parent_pid


def worker_loop(fetcher_spec, index_queue, data_queue, done_event, base_seed, init_fn,
                worker_id, num_workers, dataset, parent_pid):
    """Run in the worker process until the main process says stop (None), sets
    ``done_event`` or dies."""
    global _worker_info
    from ... import random as nt_random
    from ... import set_num_threads
    # Ctrl-C reaches the whole process group: the main process decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        set_num_threads(1)  # one worker per core; threads inside a worker would oversubscribe
        seed = base_seed + worker_id
        py_random.seed(seed)
        nt_random.manual_seed(seed)
        np.random.seed(numpy_seed(base_seed, worker_id))  # noqa: NPY002 (as torch seeds it)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = fetcher_spec.start()
        init_error = None
    except Exception:
        init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
        fetcher = None
    exhausted = False
    while True:
        try:
            task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
        except queue.Empty:
            if done_event.is_set() or not _parent_alive(parent_pid):
                break
            continue
        if task is None or done_event.is_set():
            break
        idx, indices = task
        if idx == "resume":  # persistent workers, next epoch: start the dataset over
            exhausted = False
            if init_error is None:
                fetcher = fetcher_spec.start()
            data_queue.put(("resume", worker_id))
            continue
        if init_error is not None:
            data, init_error = init_error, None
        elif exhausted:
            data = IterationEnd(worker_id)
        else:
            try:
                data = fetcher(indices)
            except StopIteration:
                exhausted, data = True, IterationEnd(worker_id)
            except Exception:
                data = ExceptionWrapper(sys.exc_info(),
                                        f"in DataLoader worker process {worker_id}")
        try:
            data_queue.put((idx, data))
        except Exception:  # the batch cannot be pickled: say so instead of hanging
            data_queue.put((idx, ExceptionWrapper(sys.exc_info(),
                                                  f"in DataLoader worker process {worker_id}")))
        del data
    if done_event.is_set():
        data_queue.cancel_join_thread()
    data_queue.close()
