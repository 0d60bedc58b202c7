"""Exactly once across a crash: a real `newsletter send` process is killed (SIGKILL)
while the server holds the second recipient; the next send completes only the rest."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from tests.smtp_helpers import Recorder, email_config, make_digest, start_server, write_built_issue

from newsletter.config import load_config
from newsletter.deliver import send_issue

TO = ["anna@example.org", "bernd@example.org", "clara@example.org"]


def test_kill_between_recipients_then_send_completes_the_rest(tmp_path: Path) -> None:
    rec = Recorder()
    held = threading.Event()
    release = threading.Event()

    async def hold_bernd(addr: str) -> None:
        if addr == "bernd@example.org" and not release.is_set():
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.02)

    rec.on_rcpt = hold_bernd
    c = start_server(rec)
    try:
        cfg_path = email_config(tmp_path / "proj", c.port, to=TO)
        config = load_config(cfg_path)
        write_built_issue(config, make_digest(3))

        env = dict(os.environ)
        proc = subprocess.Popen([sys.executable, "-m", "newsletter", "send", "--config",
                                 str(cfg_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        try:
            assert held.wait(60), "the sender never reached the second recipient"
            # anna has it and the store says so before bernd is even tried
            with sqlite3.connect(config.state_path) as db:
                assert db.execute("SELECT recipient FROM deliveries").fetchall() == [(TO[0],)]
            proc.kill()
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
            release.set()
        assert proc.returncode == -9
        assert [m.rcpt_tos for m in rec.messages] == [[TO[0]]]

        report = send_issue(config)
        assert report.skipped == (TO[0],) and report.sent == (TO[1], TO[2])
        assert sorted(m.rcpt_tos[0] for m in rec.messages) == TO  # each exactly once
        with sqlite3.connect(config.state_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert sorted(r[0] for r in db.execute("SELECT recipient FROM deliveries")) == TO
    finally:
        c.stop()


def test_send_cli_exit_codes(tmp_path: Path) -> None:
    rec = Recorder()
    rec.rcpt_reply = lambda a: "550 5.1.1 No such user" if a.startswith("anna") else None
    c = start_server(rec)
    try:
        cfg_path = email_config(tmp_path / "proj", c.port, to=TO[:2])
        write_built_issue(load_config(cfg_path), make_digest(2))
        run = lambda *a: subprocess.run(  # noqa: E731
            [sys.executable, "-m", "newsletter", "send", "--config", str(cfg_path), *a],
            capture_output=True, text=True, timeout=120)
        first = run()
        assert first.returncode == 1
        assert "anna@example.org refused: 550 5.1.1 No such user" in first.stderr
        assert "sent to 1, 1 failed" in first.stderr
        rec.rcpt_reply = lambda a: None
        second = run("--issue", "2026-W48")
        assert second.returncode == 0 and "sent to 1, 1 already had it" in second.stderr
        assert sorted(m.rcpt_tos[0] for m in rec.messages) == TO[:2]
        assert run("--issue", "1999-W01").returncode == 2
        dry = run("--dry-run")
        assert dry.returncode == 0 and dry.stdout.strip().endswith("2026-W48.eml")
    finally:
        c.stop()
