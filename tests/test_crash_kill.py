"""kill -9 during ``newsletter build`` (issue 8): the next build loses nothing, repeats nothing.

Each case runs a real build process and kills it with SIGKILL at a chosen
moment: while it waits for a feed (a held response on the local server), inside
the store transaction that records new items, right after it, between two
digest files, after a temp file is written but before its rename, and just
before and after the issue is recorded. Those moments are reached through a
small runner that wraps library functions to stop there (no test hooks in the
product). A further case kills at random moments. Then a normal build must
finish and the state must be whole: the database passes its integrity check,
every item is in the issue exactly once, all four files exist and parse, no temp
file is left, and the issue is recorded once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from .conftest import REPO, run_cli
from .hostile_helpers import (HOSTILE, FeedServer, all_titles, build_time, fill_placeholders,
                              serve, store_rows, write_config)

RUNNER = textwrap.dedent('''
    """Run the newsletter CLI, stopping (to be killed) at the moment named by CRASH_AT."""
    import os, sys, time
    sys.path.insert(0, os.environ["CRASH_REPO"])
    from newsletter import atomic, store
    from newsletter.cli import main

    AT = os.environ.get("CRASH_AT", "")

    def stop(name):
        if name == AT:
            sys.stderr.write(f"CRASH-POINT {name}\\n")
            sys.stderr.flush()
            time.sleep(600)

    upsert = store.Store.upsert_articles
    def upsert_articles(self, articles, now):
        def slow():
            for i, a in enumerate(articles):
                if i == 2:
                    stop("inside-upsert")  # two rows written, transaction open
                yield a
        result = upsert(self, slow(), now)
        stop("after-upsert")
        return result
    store.Store.upsert_articles = upsert_articles

    record = store.Store.record_issue
    def record_issue(self, rec, keys):
        stop("before-record")
        record(self, rec, keys)
        stop("after-record")
    store.Store.record_issue = record_issue

    write = atomic.write_atomic
    calls = []
    def write_atomic(path, data):
        calls.append(path)
        if len(calls) == 2:
            stop("between-files")  # the .md is written, the .html not yet
        write(path, data)
    atomic.write_atomic = write_atomic

    replace = os.replace
    def os_replace(src, dst, *a, **k):
        if str(dst).endswith(".html"):
            stop("before-rename")  # the temp file is complete, the rename not done
        return replace(src, dst, *a, **k)
    os.replace = os_replace

    sys.argv = ["newsletter", *sys.argv[1:]]
    main()
''')

POINTS = ["inside-upsert", "after-upsert", "between-files", "before-rename", "before-record",
          "after-record"]


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    yield from serve()


class Project:
    """A config with the repo's seeds and two local feeds, and the checks after a crash."""

    def __init__(self, root: Path, server: FeedServer, hold: bool = False) -> None:
        self.now = build_time()
        self.root = root
        self.server = server
        tag = root.name
        good = fill_placeholders((HOSTILE / "good.rss").read_bytes(), self.now)
        gute = fill_placeholders((HOSTILE / "gute_quelle.atom").read_bytes(), self.now)
        self.hold = threading.Event() if hold else None
        feeds = [("Good Wire", server.add(f"/{tag}/good.rss", good)),
                 ("Gute Quelle", server.add(f"/{tag}/gute.atom", gute, hold=self.hold))]
        import shutil

        shutil.copytree(REPO / "seeds", root / "seeds")
        self.cfg = write_config(root, feeds)
        self.out = root / "out"
        self.state = root / "state" / "state.sqlite3"
        self.runner = root / "crash_runner.py"
        self.runner.write_text(RUNNER, encoding="utf-8")

    def args(self, now: Any = None) -> list[str]:
        return ["build", "--config", str(self.cfg), "--now", (now or self.now).isoformat(),
                "--out", str(self.out)]

    def start(self, point: str = "") -> subprocess.Popen[str]:
        env = dict(os.environ, CRASH_AT=point, CRASH_REPO=str(REPO))
        return subprocess.Popen([sys.executable, str(self.runner), *self.args()], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def build(self, now: Any = None) -> subprocess.CompletedProcess[str]:
        r = run_cli(*self.args(now))
        assert r.returncode == 0, r.stderr
        return r

    def check_whole(self, expect_titles: set[str] | None = None) -> dict[str, Any]:
        """The state after a completed build: nothing lost, nothing repeated, nothing half."""
        assert store_rows(self.state, "PRAGMA integrity_check") == [("ok",)]
        issues = store_rows(self.state, "SELECT issue, files FROM issues")
        assert len(issues) == 1
        issue, files = issues[0]
        assert json.loads(files) == [str(self.out / f"{issue}.{e}")
                                     for e in ("md", "html", "txt", "json")]
        doc = json.loads((self.out / f"{issue}.json").read_text(encoding="utf-8"))
        for ext in ("md", "html", "txt"):
            assert (self.out / f"{issue}.{ext}").read_text(encoding="utf-8").strip()
        titles = all_titles(doc)
        assert len(titles) == len(set(titles)), titles  # nothing repeated
        ids = [s["id"] for s in doc["stories"]]
        assert len(ids) == len(set(ids))
        if expect_titles is not None:
            assert set(titles) == expect_titles  # nothing lost
        unassigned = store_rows(self.state, "SELECT key FROM items WHERE issue IS NOT ?", issue)
        assert unassigned == []
        assert not list(self.out.glob(".*.tmp"))
        return doc


def orphans(runner: Path) -> list[int]:
    """Pids still running this test's runner (a killed build's forked parser processes)."""
    mine = str(runner).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if mine in cmd.split(b"\0") and state != "Z":
            pids.append(int(entry.name))
    return pids


def end_orphans(runner: Path) -> int:
    """SIGKILL what a killed build left running: its forked parser processes (issue 3's
    pool) outlive it. Found by this test's own runner path, so nothing else is touched."""
    mine = str(runner).encode()
    ended = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if mine in cmd.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                ended += 1
            except ProcessLookupError:
                pass
    return ended


def kill_at(proc: subprocess.Popen[str], point: str) -> None:
    """Wait until the runner reports ``point``, then SIGKILL it."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(f"CRASH-POINT {point}"):
            break
    else:
        proc.wait()
        pytest.fail(f"the build never reached {point}: {''.join(seen)[-2000:]}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(server: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The headlines of an uninterrupted build of the same project."""
    p = Project(tmp_path_factory.mktemp("reference"), server)
    p.build()
    titles = set(all_titles(p.check_whole()))
    assert any("Acme Bank" in t for t in titles) and any("Gesichtserkennung" in t for t in titles)
    return titles


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_a_moment_then_the_next_build_is_whole(point: str, server: FeedServer,
                                                       tmp_path: Path, reference: set[str]) -> None:
    p = Project(tmp_path / point, server)
    kill_at(p.start(point), point)
    p.build()
    p.check_whole(reference)


def test_kill_while_fetching(server: FeedServer, tmp_path: Path, reference: set[str]) -> None:
    p = Project(tmp_path / "fetching", server, hold=True)
    proc = p.start()
    assert server.waiting.acquire(timeout=60), "the build never asked for the held feed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert p.hold is not None
    # The parser processes die with the build (fetch.py sets PDEATHSIG): none lingers.
    deadline = time.monotonic() + 10
    while orphans(p.runner) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert orphans(p.runner) == []
    p.hold.set()
    try:
        p.build()
        p.check_whole(reference)
    finally:
        end_orphans(p.runner)


def test_kill_after_record_then_next_week_repeats_nothing(server: FeedServer, tmp_path: Path,
                                                          reference: set[str]) -> None:
    p = Project(tmp_path / "next-week", server)
    kill_at(p.start("after-record"), "after-record")
    from datetime import timedelta

    r = p.build(p.now + timedelta(days=7))
    doc = json.loads(Path(r.stdout.split()[3]).read_text(encoding="utf-8"))
    assert doc["stories"] == []  # everything went into last week's issue
    assert len(store_rows(p.state, "SELECT issue FROM issues")) == 2


def test_kill_at_random_moments(server: FeedServer, tmp_path: Path, reference: set[str]) -> None:
    p = Project(tmp_path / "random", server)
    rng = random.Random(8)
    t0 = time.monotonic()
    probe = p.start()
    assert probe.wait(timeout=120) == 0
    duration = time.monotonic() - t0
    # start again from nothing, then kill three builds at random moments of a build
    import shutil

    shutil.rmtree(p.state.parent)
    shutil.rmtree(p.out)
    for _ in range(3):
        proc = p.start()
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    try:
        p.build()
        p.check_whole(reference)
    finally:
        end_orphans(p.runner)
