"""Helper processes of a build: how they start safely and how they end with it.

Two kinds: the fetcher's parser processes (``ingest.fetch``) and the read-ahead of a
build (``pipeline``). Both are started the same way (``context``) and both die with the
build that started them (``die_with_parent``), so a killed build leaves nothing behind.
"""

from __future__ import annotations

import copyreg
import multiprocessing
import os
import sys
import threading
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from types import MappingProxyType
from typing import Any

# Imported once by the fork server, so each helper it forks starts with them.
_PRELOAD = ["feedparser", "newsletter.ingest.feeds", "newsletter.cache", "newsletter.tag",
            "newsletter.watchlist", "newsletter.cluster", "newsletter.pipeline"]


def _proxy(d: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(d)


def _reduce_proxy(m: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _proxy, (dict(m),)


# What helpers send back holds read-only mappings (a tag's evidence, ``TagResult``), which
# pickle cannot copy by itself: as a fresh proxy of a copy of their contents.
copyreg.pickle(MappingProxyType, _reduce_proxy)


def context() -> ForkContext | ForkServerContext | SpawnContext:
    """How to start a helper process, decided by the threads running now.

    On Linux, while the process has one thread, helpers are forked (cheap: they inherit
    the imported modules). Once any other thread runs, forking would copy a threaded
    process (a lock held by another thread stays held in the child), so helpers come
    from a ``forkserver``: a fresh interpreter started with fork+exec (safe from any
    thread) that imports the common modules once (``_PRELOAD``) and forks each helper
    from itself; the server ends when its helpers and this process have. Elsewhere
    (macOS, Windows) helpers are spawned.
    """
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)  # takes effect when the server starts
    return ctx


def die_with_parent(build: int | None = None) -> None:
    """A helper process ends when the build that started it dies (kill -9 included),
    instead of lingering until its queue notices (issue 8). Linux only: elsewhere the
    pool's own shutdown is all there is.

    A forked helper's parent is the build: PR_SET_PDEATHSIG. A forkserver's helper's
    parent is the fork server, which itself waits for its clients (helpers included) to
    end: the helper watches the build's pidfd from a thread instead and exits with it.
    """
    if not sys.platform.startswith("linux"):
        return
    if build is not None and os.getppid() != build:
        _exit_with(build)
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _exit_with(pid: int) -> None:
    """End this process as soon as process ``pid`` ends (a pidfd turns readable then)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        os._exit(1)
    except (OSError, AttributeError):  # a kernel before 5.3: the queue's EOF ends us later
        return

    def watch() -> None:
        select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-build", daemon=True).start()
