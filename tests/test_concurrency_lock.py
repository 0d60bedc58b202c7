"""Two runs on one config at once (issue 8): one waits or exits with a clear message,
the store stays consistent, and a lock left by a killed run is taken over.

The first build is held inside its fetch stage by a feed the local server does
not answer until the test says so; it holds the run lock all that time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from newsletter.config import load_config
from newsletter.exceptions import LockedError
from newsletter.pipeline import build

from .conftest import REPO, run_cli
from .hostile_helpers import (HOSTILE, FeedServer, all_titles, build_time, fill_placeholders,
                              serve, store_rows, write_config)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve()


class Setup:
    def __init__(self, root: Path, server: FeedServer) -> None:
        self.now = build_time()
        self.server = server
        self.hold = threading.Event()
        good = fill_placeholders((HOSTILE / "good.rss").read_bytes(), self.now)
        gute = fill_placeholders((HOSTILE / "gute_quelle.atom").read_bytes(), self.now)
        self.held_url = server.add("/gute.atom", gute, hold=self.hold)
        shutil.copytree(REPO / "seeds", root / "seeds")
        self.cfg = write_config(root, [("Good Wire", server.add("/good.rss", good)),
                                       ("Gute Quelle", self.held_url)],
                                extra="")
        self.out = root / "out"
        self.state = root / "state" / "state.sqlite3"

    def args(self) -> list[str]:
        return ["build", "--config", str(self.cfg), "--now", self.now.isoformat(),
                "--out", str(self.out)]

    def start_held(self) -> subprocess.Popen[str]:
        """A build that holds the lock until ``self.hold`` is set."""
        proc = subprocess.Popen([sys.executable, "-m", "newsletter", *self.args()],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        assert self.server.waiting.acquire(timeout=60), "the build never reached its fetch"
        return proc

    def hits(self) -> int:
        return self.server.routes["/gute.atom"].hits


def end_group(pid: int) -> None:
    """SIGKILL what is left of a killed build: the parser processes it forked outlive it,
    in its own process group (``start_new_session``)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_second_build_waits_for_the_first_then_both_finish(server: FeedServer,
                                                            tmp_path: Path) -> None:
    s = Setup(tmp_path / "p", server)
    first = s.start_held()
    second = subprocess.Popen([sys.executable, "-m", "newsletter", *s.args()],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # time enough to reach the fetch if it did not wait for the lock
    assert second.poll() is None
    assert s.hits() == 1  # only the first build has fetched
    s.hold.set()
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert s.hits() == 2  # the second fetched after the first had finished
    assert out1.split() == out2.split()  # the same issue, rebuilt
    assert store_rows(s.state, "PRAGMA integrity_check") == [("ok",)]
    (issue,), = store_rows(s.state, "SELECT issue FROM issues")
    assert store_rows(s.state, "SELECT count(*) FROM items WHERE issue IS NOT ?", issue) == [(0,)]
    import json

    doc = json.loads(Path(out2.split()[3]).read_text(encoding="utf-8"))
    titles = all_titles(doc)
    assert len(titles) == len(set(titles))
    assert any("Acme Bank" in t for t in titles) and any("Gesichtserkennung" in t for t in titles)


def test_a_run_that_cannot_wait_exits_with_a_clear_message(server: FeedServer,
                                                           tmp_path: Path) -> None:
    s = Setup(tmp_path / "p", server)
    with s.cfg.open("a", encoding="utf-8") as f:
        f.write("email:\n  from: alerts@example.org\n  to: [me@example.org]\n"
                "  smtp: {host: 127.0.0.1, port: 9, security: none}\n")
    first = s.start_held()
    try:
        r = run_cli("run", "--config", str(s.cfg), "--now", s.now.isoformat(), "--wait", "0")
        assert r.returncode == 1
        assert f"another newsletter run (pid {first.pid})" in r.stderr
        assert "Traceback" not in r.stderr
        with pytest.raises(LockedError, match=f"pid {first.pid}"):
            build(load_config(s.cfg), now=s.now, out_dir=s.out, lock_wait=0.2)
        assert s.hits() == 1  # neither of them fetched anything
    finally:
        s.hold.set()
        first.communicate(timeout=120)
    assert first.returncode == 0


def test_lock_of_a_killed_run_is_taken_over(server: FeedServer, tmp_path: Path) -> None:
    s = Setup(tmp_path / "p", server)
    first = s.start_held()
    first.send_signal(signal.SIGKILL)  # the build only, not its parser processes
    first.wait()
    lock = s.state.with_name(s.state.name + ".lock")
    assert lock.read_text().strip() == str(first.pid)  # the dead holder's pid is still there
    s.hold.set()
    try:
        report = build(load_config(s.cfg), now=s.now, out_dir=s.out, lock_wait=0)
    finally:
        end_group(first.pid)
    assert len(report.rendered.paths) == 4
    assert lock.read_text().strip() == ""  # released, and the new run wrote its own pid
    assert store_rows(s.state, "PRAGMA integrity_check") == [("ok",)]
