"""`newsletter run` as cron runs it: build then send, quiet on success without a
terminal, loud on trouble, never two at once."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.smtp_helpers import Recorder, email_config, server  # noqa: F401 (fixture)

from newsletter.config import load_config
from newsletter.lock import run_lock

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-23T07:00:00+01:00"


def project(tmp_path: Path, port: int, to: list[str]) -> Path:
    cfg = email_config(tmp_path / "proj", port, to=to)
    shutil.copytree(REPO / "seeds", cfg.parent / "seeds")
    cfg.write_text(cfg.read_text().replace("seeds: null", "seeds: seeds"), encoding="utf-8")
    return cfg


def run(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # capture_output: stdout is a pipe, not a terminal, as under cron
    return subprocess.run([sys.executable, "-m", "newsletter", "run", "--config", str(cfg),
                           "--now", NOW, *args], capture_output=True, text=True, timeout=120)


def test_run_builds_and_sends_quietly(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    cfg = project(tmp_path, port, ["anna@example.org"])
    first = run(cfg)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and first.stderr == ""
    assert (cfg.parent / "digests" / "2026-W48.html").exists()
    assert [m.rcpt_tos for m in rec.messages] == [["anna@example.org"]]
    assert rec.messages[0].message["Subject"].startswith("Privacy Alerts 2026-W48: ")

    again = run(cfg)  # the same week again (cron retry): nothing new to send
    assert again.returncode == 0 and len(rec.messages) == 1
    with sqlite3.connect(load_config(cfg).state_path) as db:
        assert db.execute("SELECT command, ok FROM runs").fetchall() == [("run", 1), ("run", 1)]


def test_run_failure_is_loud_and_retried(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    rec.rcpt_reply = lambda a: "550 5.1.1 No such user" if a.startswith("anna") else None
    cfg = project(tmp_path, port, ["anna@example.org", "bernd@example.org"])
    failed = run(cfg)
    assert failed.returncode == 1
    assert "anna@example.org refused" in failed.stderr and "2026-W48.html" in failed.stdout
    rec.rcpt_reply = lambda a: None
    fixed = run(cfg)
    assert fixed.returncode == 0
    assert sorted(m.rcpt_tos[0] for m in rec.messages) == ["anna@example.org", "bernd@example.org"]
    with sqlite3.connect(load_config(cfg).state_path) as db:
        assert db.execute("SELECT ok FROM runs ORDER BY id").fetchall() == [(0,), (1,)]


def test_second_run_waits_then_gives_up(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    cfg = project(tmp_path, port, ["anna@example.org"])
    with run_lock(load_config(cfg).state_path):  # another run is in progress
        blocked = run(cfg, "--wait", "0.3")
    assert blocked.returncode == 1
    assert "another newsletter run" in blocked.stderr and "Traceback" not in blocked.stderr
    assert rec.messages == []


def test_run_without_email_section_is_a_config_error(tmp_path: Path) -> None:
    cfg = project(tmp_path, 25, ["anna@example.org"])
    text = cfg.read_text()
    cfg.write_text(text[: text.index("email:")], encoding="utf-8")
    r = run(cfg)
    assert r.returncode == 2 and "email" in r.stderr


def test_failed_issue_is_delivered_by_next_weeks_run(tmp_path: Path,
                                                     server: tuple[Recorder, int]) -> None:
    rec, port = server
    rec.rcpt_reply = lambda a: "550 5.2.1 Mailbox disabled" if a.startswith("anna") else None
    cfg = project(tmp_path, port, ["anna@example.org"])
    failed = run(cfg)
    assert failed.returncode == 1
    rec.rcpt_reply = lambda a: None
    nxt = subprocess.run([sys.executable, "-m", "newsletter", "run", "--config", str(cfg),
                          "--now", "2026-11-30T07:00:00+01:00"],
                         capture_output=True, text=True, timeout=120)
    assert nxt.returncode == 0, nxt.stderr
    subjects = [m.message["Subject"] for m in rec.messages]
    assert [s.split(":")[0] for s in subjects] == ["Privacy Alerts 2026-W48", "Privacy Alerts 2026-W49"]
    again = run(cfg)  # W48 again: already delivered, nothing owed
    assert again.returncode == 0 and len(rec.messages) == 2
