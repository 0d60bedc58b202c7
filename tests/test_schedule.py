"""The scheduler: fire times across daylight-saving changes, a missed run made up once
from the store's record, and a clean stop on SIGTERM (a real process)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.smtp_helpers import email_config

from newsletter.config import Config, load_config
from newsletter.deliver import record_run
from newsletter.schedule import (JOB_ID, cron_trigger, make_scheduler, missed_fire_time,
                                 next_fire_times)
from newsletter.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def config_with(tmp_path: Path, schedule: str = "0 7 * * mon") -> Config:
    p = email_config(tmp_path / "proj", 25, to=["anna@example.org"])
    p.write_text(p.read_text().replace('"0 7 * * mon"', f'"{schedule}"'))
    return load_config(p)


def iso(ds: list[datetime]) -> list[str]:
    return [d.isoformat() for d in ds]


def test_weekly_run_stays_at_seven_local_across_dst_end(tmp_path: Path) -> None:
    trig = cron_trigger(config_with(tmp_path))
    got = next_fire_times(trig, datetime(2026, 10, 13, tzinfo=BERLIN), 3)
    assert iso(got) == ["2026-10-19T07:00:00+02:00", "2026-10-26T07:00:00+01:00",
                        "2026-11-02T07:00:00+01:00"]
    assert [d.astimezone(UTC).hour for d in got] == [5, 6, 6]


def test_weekly_run_across_dst_start(tmp_path: Path) -> None:
    trig = cron_trigger(config_with(tmp_path, "0 7 * * sun"))
    got = next_fire_times(trig, datetime(2026, 3, 21, tzinfo=BERLIN), 2)
    assert iso(got) == ["2026-03-22T07:00:00+01:00", "2026-03-29T07:00:00+02:00"]


def test_repeated_hour_fires_once_and_missing_hour_still_fires(tmp_path: Path) -> None:
    trig = cron_trigger(config_with(tmp_path, "30 2 * * *"))
    autumn = next_fire_times(trig, datetime(2026, 10, 24, 12, tzinfo=BERLIN), 2)
    assert [d.astimezone(UTC) for d in autumn] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                                                   datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]
    spring = next_fire_times(trig, datetime(2026, 3, 28, 12, tzinfo=BERLIN), 2)
    # 02:30 does not exist on 29 March: it runs once that night, then 02:30 CEST again
    assert [d.astimezone(UTC) for d in spring] == [datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
                                                   datetime(2026, 3, 30, 0, 30, tzinfo=UTC)]


def test_missed_fire_time(tmp_path: Path) -> None:
    trig = cron_trigger(config_with(tmp_path))
    now = datetime(2026, 11, 25, 12, tzinfo=BERLIN)  # Wednesday
    monday = datetime(2026, 11, 23, 7, tzinfo=BERLIN)
    assert missed_fire_time(trig, None, now) is None  # never ran: nothing to make up
    assert missed_fire_time(trig, monday + timedelta(seconds=0.4), now) is None
    assert missed_fire_time(trig, monday - timedelta(days=21), now) == \
        datetime(2026, 11, 9, 7, tzinfo=BERLIN)  # the first missed one, made up once
    assert missed_fire_time(trig, datetime(2026, 11, 16, 7, tzinfo=BERLIN), now) == monday


def _record(config: Config, started: datetime, ok: bool) -> None:
    with Store(config.state_path) as s:
        s.finish_run(s.start_run("run", started), started + timedelta(minutes=1), ok)


def test_missed_runs_made_up_once_at_start(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    now = datetime.now(UTC)
    _record(config, now - timedelta(days=30), ok=True)   # three or four Mondays missed
    _record(config, now - timedelta(days=2), ok=False)   # a failed run does not count
    runs: list[datetime | None] = []
    holder: dict[str, object] = {}

    def job() -> None:
        with record_run(config.state_path, "run") as ok:
            sched = holder["s"]
            runs.append(sched.get_job(JOB_ID).next_run_time)  # type: ignore[attr-defined]
            ok[0] = True
        threading.Thread(target=sched.shutdown, kwargs={"wait": False}).start()  # type: ignore[attr-defined]

    sched, _ = make_scheduler(config, job, now=now)
    holder["s"] = sched
    guard = threading.Timer(60, lambda: sched.running and sched.shutdown(wait=False))
    guard.start()
    try:
        sched.start()
    finally:
        guard.cancel()
    assert len(runs) == 1
    # while the made-up run ran, the next one was already the next regular fire time
    nxt = runs[0]
    assert nxt is not None and nxt > now and nxt.astimezone(BERLIN).hour == 7
    assert nxt.astimezone(BERLIN).weekday() == 0
    # a second start finds the run done: nothing to make up
    with Store(config.state_path) as s:
        last = s.last_successful_run("run")
    assert last is not None and missed_fire_time(cron_trigger(config), last, datetime.now(UTC)) is None


DRIVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from newsletter.config import load_config
    from newsletter.deliver import record_run
    from newsletter.schedule import serve
    import logging
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    config = load_config(sys.argv[1])
    d = Path(sys.argv[2])

    def job():
        with record_run(config.state_path, "run") as ok:
            (d / "started").touch()
            while not (d / "release").exists():
                time.sleep(0.02)
            ok[0] = True
        (d / "finished").touch()

    sys.exit(serve(config, job=job))
""")


def _start_driver(tmp_path: Path) -> tuple[subprocess.Popen[str], Config, Path]:
    config = config_with(tmp_path)
    _record(config, datetime.now(UTC) - timedelta(days=14), ok=True)  # makes a run due now
    d = tmp_path / "flags"
    d.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(driver), str(config.path), str(d)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60  # a guard against hanging, not an assertion on speed
    while not (d / "started").exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the made-up run never started"
        time.sleep(0.02)
    return proc, config, d


def _read_until(proc: subprocess.Popen[str], needle: str) -> str:
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} never logged; got:\n{''.join(seen)}")


def test_sigterm_during_run_finishes_it_then_stops(tmp_path: Path) -> None:
    proc, config, d = _start_driver(tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        log = _read_until(proc, "finishing the run in flight")
        assert "next run" in log and "missed" in log
        assert proc.poll() is None and not (d / "finished").exists()
        (d / "release").touch()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (d / "finished").exists()
    with sqlite3.connect(config.state_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT ok FROM runs WHERE finished_at IS NOT NULL ORDER BY id").fetchall()
    assert rows == [(1,), (1,)]  # the seeded run and the one finished after SIGTERM


def test_second_signal_abandons_the_run_without_harm(tmp_path: Path) -> None:
    proc, config, d = _start_driver(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        _read_until(proc, "finishing the run in flight")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (d / "finished").exists()
    with sqlite3.connect(config.state_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        unfinished = db.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()
    assert unfinished == (1,)  # so the next start makes the run up again
    with Store(config.state_path) as s:
        last = s.last_successful_run("run")
    assert missed_fire_time(cron_trigger(config), last, datetime.now(UTC)) is not None


@pytest.mark.parametrize("bad", ["0 7 * *", "61 7 * * mon"])
def test_bad_schedule_is_a_config_error(tmp_path: Path, bad: str) -> None:
    from newsletter.exceptions import ConfigError

    with pytest.raises(ConfigError, match="schedule"):
        config_with(tmp_path, bad)
