"""``Work``: the handle of a collective started with ``async_op=True``. MPI completes
non-blocking collectives only when asked, so ``wait`` polls the requests; polling also
enforces the process group's timeout, so a rank that died or hangs is reported instead of
blocking forever."""
from __future__ import annotations

import os
import time

_SPIN_S = 0.05   # poll without sleeping for this long before backing off


class DistBackendError(RuntimeError):
    """A collective failed or timed out (``torch.distributed.DistBackendError``)."""


class Work:
    """Wait for (``wait``) or poll (``is_completed``) one collective; ``finish`` runs once
    when its MPI requests are done (copy-back of a non-contiguous tensor, AVG's division)."""

    def __init__(self, requests, finish=None, timeout_s=None, what="collective"):
        self._requests = list(requests)
        self._finish = finish
        self._timeout_s = timeout_s
        self._what = what
        self._done = False

    def _test(self) -> bool:
        if self._done:
            return True
        self._requests = [r for r in self._requests if not r.Test()]
        if self._requests:
            return False
        self._done = True
        if self._finish is not None:
            self._finish()
        return True

    def is_completed(self) -> bool:
        return self._test()

    def wait(self, timeout=None) -> bool:
        limit = self._timeout_s if timeout is None else _seconds(timeout)
        start = time.monotonic()
        pause = 0.0
        while not self._test():
            waited = time.monotonic() - start
            if limit is not None and waited > limit:
                raise DistBackendError(
                    f"{self._what} timed out after {limit:.1f} s waiting for the other ranks "
                    "(a rank may have died, hung or skipped this collective)")
            # Each poll also advances the collective (MPI progresses it only inside calls),
            # so poll tightly at first, yielding the core to any other runnable process;
            # a long wait (a slow peer) backs off to 1 ms sleeps.
            if waited < _SPIN_S:
                os.sched_yield()
            else:
                time.sleep(pause)
                pause = min(1e-3, pause * 2 + 1e-5)
        return True

    def is_success(self) -> bool:
        return self._done


def _seconds(timeout) -> float:
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
