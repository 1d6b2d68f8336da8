"""One run per output folder: an advisory ``flock`` on ``OUT/.lock``, which holds the pid and
command of the run that owns it.

The kernel drops a ``flock`` when its process dies, so a lock left by a run that was
SIGKILLed is free again and the next run takes it over; the file's old contents only say
who held it last."""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

LOCK_NAME = ".lock"


class RunLockedError(RuntimeError):
    """Another live process holds the output folder."""


def _command_of(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


def _owner(fd: int) -> tuple[int | None, str | None]:
    """(pid, command) written in the lock file by its holder."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace")
    pid_line, _, command = text.partition("\n")
    try:
        pid = int(pid_line)
    except ValueError:
        return None, None
    return pid, _command_of(pid) or command.strip() or None


class RunLock:
    """Context manager holding an exclusive lock on ``folder`` (created if missing)."""

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_NAME
        self.previous_pid = None
        self._fd = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, command = _owner(fd)
            os.close(fd)
            who = f"pid {pid}" if pid is not None else "another process"
            raise RunLockedError(
                f"--out {self.path.parent} is in use by another run ({who}"
                + (f": {command}" if command else "")
                + "); wait for it to finish or choose another --out") from None
        except BaseException:
            os.close(fd)
            raise
        self.previous_pid, _ = _owner(fd)  # a run that ended, or was killed, holding it
        os.ftruncate(fd, 0)
        command = " ".join([sys.executable, *sys.argv])
        os.pwrite(fd, f"{os.getpid()}\n{command}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            # the file stays (unlinking it would let a waiting run lock a deleted inode);
            # emptied, it no longer names this process
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
