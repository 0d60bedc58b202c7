"""Atomic file writes: temp file in the same folder, fsync, ``os.replace``.

A reader (or a crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def write_atomic(path: Path, data: str | bytes, *, check: Callable[[Path], None] | None = None,
                 keep_mode: bool = False) -> None:
    """``check(temp_path)`` may raise to abandon the write (the old file stays);
    ``keep_mode`` keeps the replaced file's permissions (a user's config)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(Path(tmp))
        if keep_mode:
            try:
                os.chmod(tmp, path.stat().st_mode & 0o777)
            except OSError:
                pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def remove_stale_temps(path: Path) -> int:
    """Delete temp files a killed writer of ``path`` left behind; returns how many.

    Call only while holding the run lock (``lock.run_lock``): then no other process
    can be writing ``path``, and every ``.<name>.*.tmp`` beside it is debris.
    """
    removed = 0
    if path.parent.is_dir():
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            try:
                tmp.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed
