"""``newsletter schedule``: do ``run`` on the config's cron schedule, in the foreground.

APScheduler 3's ``BlockingScheduler`` with ``CronTrigger.from_crontab`` in the
config's time zone, so 07:00 stays 07:00 local across daylight-saving changes.
One job, coalesced, never two instances at once, no misfire limit (a laptop that
wakes up late still runs once).

A run missed while the machine was off is made up once at start. The memory is
the store's ``runs`` table, not the process: if the first fire time after the
last successful run has already passed, the job runs now (once, however many
fire times were missed), then follows the schedule.

SIGTERM/SIGINT stop the scheduler; a run in flight is finished (a second signal
abandons it: the process exits at once, SQLite rolls the open transaction back,
and the unfinished ``runs`` row makes the next start run it again).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    from .config import Config

log = logging.getLogger(__name__)

JOB_ID = "newsletter-run"
RUN_COMMAND = "run"  # the ``runs.command`` that counts as a scheduled run done


def cron_trigger(config: Config) -> CronTrigger:
    """The config's crontab line in its time zone, firing once per wall-clock time.

    APScheduler 3 fires a time inside the hour that repeats when daylight saving ends
    (02:30 on the last Sunday of October in Europe) twice, once per UTC offset; the
    second one is skipped here. A time that does not exist (spring forward) fires
    once, an hour later in wall-clock terms, as APScheduler does.
    """
    from apscheduler.triggers.cron import CronTrigger

    class WallClockCron(CronTrigger):
        def get_next_fire_time(self, previous_fire_time: datetime | None,
                               now: datetime) -> datetime | None:
            nxt = super().get_next_fire_time(previous_fire_time, now)
            if nxt is not None and previous_fire_time is not None:
                prev_wall = previous_fire_time.astimezone(nxt.tzinfo).replace(tzinfo=None)
                if (nxt.replace(tzinfo=None) == prev_wall
                        and nxt.timestamp() != previous_fire_time.timestamp()):
                    # step in UTC: local arithmetic would drop the fold and land before it
                    after = nxt.astimezone(timezone.utc) + timedelta(seconds=1)
                    nxt = super().get_next_fire_time(nxt, after)
            return nxt

    return WallClockCron.from_crontab(config.settings.schedule, timezone=config.tz)


def next_fire_times(trigger: CronTrigger, after: datetime, n: int) -> list[datetime]:
    """The next ``n`` fire times strictly after ``after`` (aware, in the trigger's zone)."""
    out: list[datetime] = []
    t = after
    prev = None
    while len(out) < n:
        nxt = trigger.get_next_fire_time(prev, t.astimezone(timezone.utc) + timedelta(microseconds=1))
        if nxt is None:
            break
        out.append(nxt)
        prev, t = nxt, nxt
    return out


def missed_fire_time(trigger: CronTrigger, last_success: datetime | None,
                     now: datetime) -> datetime | None:
    """The first fire time after the last successful run, if it is already past.

    No successful run on record means nothing was missed (a fresh install waits for
    the schedule). ``runs.started_at`` is kept to the second, so look from one
    second later: a run started at 07:00:00.4 must not count as missing 07:00.
    """
    if last_success is None:
        return None
    due = trigger.get_next_fire_time(None, last_success.astimezone(timezone.utc) + timedelta(seconds=1))
    return due if due is not None and due <= now else None


def default_job(config: Config) -> Callable[[], None]:
    """One ``newsletter run``; failures are logged, the scheduler keeps going."""
    def job() -> None:
        from .deliver import run_once

        def failure(f: Any) -> None:
            log.warning("delivery to %s failed: %s", f.recipient, f.reason)

        def feed_error(fe: Any) -> None:
            log.warning("feed failed: %s (%s): %s", fe.feed, fe.url, fe.error)

        report = run_once(config, now=datetime.now(timezone.utc), on_failure=failure,
                          on_feed_error=feed_error)
        log.info("%s", report.send.summary())

    return job


class _Flight:
    """Whether a run is in progress, for a clean stop."""

    def __init__(self) -> None:
        self.idle = threading.Event()
        self.idle.set()

    def wrap(self, job: Callable[[], None]) -> Callable[[], None]:
        def tick() -> None:
            self.idle.clear()
            try:
                job()
            except Exception as e:  # noqa: BLE001 - one failed run must not stop the schedule
                log.error("run failed: %s", e, exc_info=not _is_ours(e))
            finally:
                self.idle.set()
        return tick


def _is_ours(e: BaseException) -> bool:
    from .exceptions import NewsletterError

    return isinstance(e, NewsletterError)


def make_scheduler(config: Config, job: Callable[[], None], *,
                   now: datetime | None = None) -> tuple[BlockingScheduler, _Flight]:
    """The scheduler with its one job added (made due now if a run was missed); not started."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.schedulers.blocking import BlockingScheduler

    from .store import Store

    now = now or datetime.now(timezone.utc)
    trigger = cron_trigger(config)
    with Store(config.state_path) as store:
        last = store.last_successful_run(RUN_COMMAND)
    missed = missed_fire_time(trigger, last, now)

    scheduler = BlockingScheduler(timezone=config.tz)
    flight = _Flight()
    options: dict[str, Any] = {}
    if missed is not None:
        log.info("the run due %s was missed (last successful run %s); running it now",
                 missed.isoformat(), last.isoformat() if last else "never")
        options["next_run_time"] = now
    scheduler.add_job(flight.wrap(job), trigger=trigger, id=JOB_ID, name="newsletter run",
                      coalesce=True, max_instances=1, misfire_grace_time=None, **options)

    def after_run(event: Any) -> None:
        j = scheduler.get_job(JOB_ID)
        if j is not None and j.next_run_time is not None:
            log.info("next run: %s", j.next_run_time.isoformat())

    scheduler.add_listener(after_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    nxt = next_fire_times(trigger, now, 1)
    log.info("schedule %r in %s; next run: %s", config.settings.schedule, config.settings.timezone,
             "now" if missed else (nxt[0].isoformat() if nxt else "never"))
    return scheduler, flight


def serve(config: Config, job: Callable[[], None] | None = None) -> int:
    """Run until SIGTERM/SIGINT; the exit status (0 after a clean stop)."""
    scheduler, flight = make_scheduler(config, job or default_job(config))
    signals = {"count": 0}

    def on_signal(signum: int, frame: object) -> None:
        signals["count"] += 1
        name = signal.Signals(signum).name
        if signals["count"] > 1:
            log.warning("%s again: abandoning the run in flight", name)
            os._exit(128 + signum)  # SQLite rolls back; the unfinished run is redone next start
        log.info("%s: stopping the scheduler", name)
        # shutdown() takes the scheduler's locks; never from inside a signal handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()  # blocks until shutdown
        if not flight.idle.is_set():
            log.info("finishing the run in flight (send the signal again to abandon it)")
            flight.idle.wait()
        log.info("stopped")
        return 0
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
