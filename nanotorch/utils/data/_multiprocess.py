"""``DataLoader(num_workers > 0)``: batches loaded by worker processes, as PyTorch does.

The main process runs the sampler and sends each batch's indices to the workers in turn,
at most ``prefetch_factor`` batches ahead per worker; the workers fetch, collate and send
the batch back; the main process yields them in sampler order (``in_order=True``). So a
deterministic dataset gives the same batches for every ``num_workers``."""
from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import weakref

from ._worker import STATUS_CHECK_INTERVAL, ExceptionWrapper, IterationEnd, worker_loop

# How long shutdown waits for a worker to exit before terminating it.
JOIN_TIMEOUT = 5.0


def _context(spec):
    """The multiprocessing context: ``spec`` (a name or a context), else fork where the
    platform has it (workers start at once and inherit the dataset), else the default."""
    if spec is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else None)
    if isinstance(spec, str):
        return multiprocessing.get_context(spec)
    return spec


class _Workers:
    """The worker processes and their queues; ``shutdown`` stops and reaps them (called
    once: at the end of an epoch, on an error, or when the iterator is collected)."""

    def __init__(self, ctx, n, fetcher, dataset, base_seed, init_fn):
        self.done = ctx.Event()
        self.data_queue = ctx.Queue()
        self.index_queues, self.processes = [], []
        self.closed = False
        parent = os.getpid()
        try:
            for i in range(n):
                q = ctx.Queue()
                q.cancel_join_thread()  # never block exit on indices a worker will not read
                p = ctx.Process(target=worker_loop, daemon=True,
                                args=(fetcher, q, self.data_queue, self.done, base_seed,
                                      init_fn, i, n, dataset, parent))
                p.start()
                self.index_queues.append(q)
                self.processes.append(p)
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self, join_timeout=JOIN_TIMEOUT):
        if self.closed:
            return
        self.closed = True
        self.done.set()
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.processes:
            p.join(join_timeout)
            if p.is_alive():
                p.terminate()
                p.join()
        for q in self.index_queues + [self.data_queue]:
            q.cancel_join_thread()
            q.close()


class MultiProcessIter:
    """The iterator of a DataLoader with worker processes."""

    def __init__(self, loader, base_seed, fetcher):
        self._n = loader.num_workers
        self._prefetch = loader.prefetch_factor or 2
        self._timeout = loader.timeout
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        self._workers = _Workers(_context(loader.multiprocessing_context), self._n, fetcher,
                                 loader.dataset, base_seed, loader.worker_init_fn)
        weakref.finalize(self, self._workers.shutdown)
        self._reset(loader, first=True)

    def __iter__(self):
        return self

    def _reset(self, loader, first=False):
        """Start an epoch: a fresh sampler pass; persistent workers restart their dataset
        after sending back what the last epoch left in flight."""
        self._sampler_iter = iter(loader._index_sampler)
        self._send_idx = self._rcvd_idx = 0
        self._task_info = {}        # task index -> (worker id,) or (worker id, data)
        self._outstanding = 0
        self._active = [True] * self._n
        self._cycle = itertools.cycle(range(self._n))
        if not first:
            for q in self._workers.index_queues:
                q.put(("resume", None))
            acks = 0
            while acks < self._n:
                idx, _ = self._get()
                acks += idx == "resume"
        for _ in range(self._prefetch * self._n):
            self._put_index()

    def _put_index(self):
        if self._outstanding >= self._prefetch * self._n:
            return
        for _ in range(self._n):
            worker = next(self._cycle)
            if self._active[worker]:
                break
        else:
            return
        try:
            indices = next(self._sampler_iter)
        except StopIteration:
            return
        self._workers.index_queues[worker].put((self._send_idx, indices))
        self._task_info[self._send_idx] = (worker,)
        self._outstanding += 1
        self._send_idx += 1

    def _get(self):
        """The next (task index, data) from any worker; RuntimeError on timeout or when a
        worker died."""
        waited = 0.0
        while True:
            wait = STATUS_CHECK_INTERVAL
            if self._timeout > 0:
                wait = min(wait, self._timeout - waited)
            try:
                return self._workers.data_queue.get(timeout=wait)
            except queue.Empty:
                waited += wait
            if self._timeout > 0 and waited >= self._timeout:
                self._stop(force=True)
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            dead = [p for p, active in zip(self._workers.processes, self._active)
                    if active and not p.is_alive()]
            if dead:
                pids = ", ".join(str(p.pid) for p in dead)
                codes = ", ".join(str(p.exitcode) for p in dead)
                self._stop(force=True)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly "
                                   f"(exit code(s) {codes})")

    def _stop(self, force=False):
        """End the workers: at the end of an epoch unless persistent; with ``force`` (a
        worker died or is stuck past ``timeout``) at once, not waiting for them to finish."""
        if force:
            self._workers.shutdown(join_timeout=0.1)
        elif not self._persistent:
            self._workers.shutdown()

    def __next__(self):
        if self._workers.closed:
            raise StopIteration
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._active[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)  # a task of an exhausted worker
                self._rcvd_idx += 1
            else:
                self._stop()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._deliver(info[1])
            idx, data = self._get()
            self._outstanding -= 1
            if isinstance(data, IterationEnd):
                self._active[data.worker_id] = False
                self._put_index()
                continue
            if idx != self._rcvd_idx and self._in_order:
                self._task_info[idx] += (data,)
                continue
            del self._task_info[idx]
            if idx == self._rcvd_idx:
                self._rcvd_idx += 1
            return self._deliver(data)

    def _deliver(self, data):
        self._put_index()
        if isinstance(data, ExceptionWrapper):
            self._stop()
            data.reraise()
        return data
