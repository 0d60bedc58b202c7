"""One run at a time per state file: an advisory lock next to it.

``flock`` is released by the kernel when the holder dies, so a lock left by a
killed process is never stale: the next run simply gets it. The file records the
holder's pid for the message shown to a waiting run.

One catch (found by ``tests/test_crash_kill.py``): a flock belongs to the open
file, and a forked child (the fetcher's parser processes) shares it. If the run
is killed with SIGKILL, children that outlive it would keep the lock forever.
So every forked child closes its copy of the lock descriptor at once
(``os.register_at_fork``); only the process that took the lock holds it.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .exceptions import LockedError

_held: set[int] = set()  # lock descriptors this process holds


def _close_in_child() -> None:
    for fd in list(_held):
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


@contextmanager
def run_lock(state_path: Path, *, wait: float = 0.0, poll: float = 0.2) -> Iterator[None]:
    """Hold the lock for the block; wait up to ``wait`` seconds, then raise ``LockedError``."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    _held.add(fd)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    raise LockedError(
                        f"another newsletter run (pid {holder}) is using {state_path}; "
                        f"waited {wait:.0f}s. Try again when it has finished.") from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        _held.discard(fd)
        os.close(fd)
