"""Fetch progress for a human: a bar on a terminal, a few plain lines otherwise.

On a TTY a tqdm bar shows feeds done / total and failures. When stderr is not a
terminal (cron mails it to someone) the bar's carriage returns would be noise, so
``LineProgress`` writes one line at the start, one at the end, and one at most
every ``interval`` seconds in between for long runs. Both are fed from several
fetch threads, hence the lock.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ingest.fetch import FeedResult


class _Counts:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.failed = 0
        self.unchanged = 0
        self.skipped = 0
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def add(self, r: "FeedResult") -> None:
        self.done += 1
        if r.skipped:
            self.skipped += 1
        elif r.error is not None:
            self.failed += 1
        elif r.not_modified:
            self.unchanged += 1

    def summary(self) -> str:
        parts = [f"{self.done}/{self.total} feeds"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.skipped:
            parts.append(f"{self.skipped} not due")
        parts.append(f"{self.failed} failed")
        return ", ".join(parts)


class LineProgress:
    """Plain lines for logs and cron mails."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.c = _Counts()
        self._last = 0.0

    def start(self, total: int) -> None:
        self.c = _Counts()
        self.c.total = total
        self._last = time.monotonic()
        if total:
            print(f"fetching {total} feeds", file=self.stream, flush=True)

    def advance(self, result: "FeedResult") -> None:
        with self.c.lock:
            self.c.add(result)
            now = time.monotonic()
            if now - self._last >= self.interval and self.c.done < self.c.total:
                self._last = now
                print(f"fetching: {self.c.summary()}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.c.total:
            print(f"fetched {self.c.summary()} in {time.monotonic() - self.c.t0:.1f} s",
                  file=self.stream, flush=True)


class BarProgress:
    """A tqdm bar on the terminal: done / total, failures in the postfix."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.c = _Counts()
        self.bar: Any = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.c = _Counts()
        self.c.total = total
        self.bar = tqdm(total=total, file=self.stream, unit="feed", desc="fetching",
                        leave=False, dynamic_ncols=True)

    def advance(self, result: "FeedResult") -> None:
        with self.c.lock:
            self.c.add(result)
            if self.bar is not None:
                self.bar.set_postfix(failed=self.c.failed, refresh=False)
                self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.c.total:
            print(f"fetched {self.c.summary()} in {time.monotonic() - self.c.t0:.1f} s",
                  file=self.stream, flush=True)


def terminal_progress(stream: IO[str] | None = None) -> LineProgress | BarProgress:
    """A bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    s = stream or sys.stderr
    try:
        tty = s.isatty()
    except (AttributeError, ValueError):
        tty = False
    return BarProgress(s) if tty else LineProgress(s)
