"""Feed health: what the store knows about each feed, as rows and as a table.

The store keeps, per feed (keyed by the URL in ``feeds.yaml``): last attempt,
last success, HTTP status, consecutive failures, since when it has been failing,
last error, items last seen, where it moved to, and when it is due again. This
module reads that into ``FeedHealth`` values (pure once read), formats the
``newsletter feeds check`` table, and answers "which feeds have been failing for
more than a week" for the digest footer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Iterable, Sequence

from .store import Store, from_iso
from .types import FeedError

if TYPE_CHECKING:
    from .config import Config
    from .ingest.feeds import FeedSource
    from .ingest.fetch import Fetcher, FeedResult, FeedState


@dataclass(frozen=True)
class FeedHealth:
    """One feed's health after a run (or as last stored)."""

    name: str  # the feed's name from the config
    url: str  # the URL in the config
    outcome: str  # this run: "ok", "unchanged", "failed", "not due", or "unknown" (not fetched)
    status: int | None = None  # HTTP status of the last response
    items: int | None = None  # entries in the feed when last parsed
    new_items: int | None = None  # of those, never seen before (this run)
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    failures: int = 0  # consecutive failed runs
    failing_since: datetime | None = None
    error: str | None = None  # the last error, one line
    moved_to: str | None = None  # a permanent redirect: the config should say this URL
    retry_after: datetime | None = None  # not fetched before this time

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def _col(row: sqlite3.Row, name: str) -> object:
    return row[name] if name in row.keys() else None


def feed_state(row: sqlite3.Row | None) -> "FeedState":
    """The stored part of a feed that shapes its next request."""
    from .ingest.fetch import FeedState

    if row is None:
        return FeedState()
    return FeedState(etag=row["etag"], last_modified=row["last_modified"],
                     moved_to=row["moved_to"], retry_after=from_iso(row["retry_after"]))


def feed_states(store: Store, sources: Iterable["FeedSource"]) -> dict[str, "FeedState"]:
    return {s.url: feed_state(store.feed_state(s.url)) for s in sources}


def health_from_row(name: str, url: str, row: sqlite3.Row | None, outcome: str = "unknown",
                    new_items: int | None = None) -> FeedHealth:
    if row is None:
        return FeedHealth(name=name, url=url, outcome=outcome, new_items=new_items)
    return FeedHealth(
        name=name, url=url, outcome=outcome, status=row["status"], items=row["items_last"],
        new_items=new_items,
        last_success=from_iso(row["last_success"]), last_attempt=from_iso(row["last_attempt"]),
        failures=int(row["failures"] or 0),
        failing_since=from_iso(_col(row, "failing_since")),  # type: ignore[arg-type]
        error=row["last_error"], moved_to=row["moved_to"],
        retry_after=from_iso(row["retry_after"]))


def outcome_of(r: "FeedResult") -> str:
    if r.skipped:
        return "not due"
    if r.error is not None:
        return "failed"
    return "unchanged" if r.not_modified else "ok"


def record_results(store: Store, results: Sequence["FeedResult"], now: datetime) -> None:
    """Write each fetched feed's health (and validators) to the store; skipped feeds untouched.

    One transaction for all: a commit per feed was a fifth of a warm build's own time."""
    with store.transaction():
        for r in results:
            if r.skipped:
                continue
            store.record_feed(url=r.source.url, name=r.source.name, now=now, ok=r.error is None,
                              status=r.status, error=r.error,
                              items=None if (r.not_modified or r.error) else len(r.articles),
                              etag=r.etag, last_modified=r.last_modified, moved_to=r.moved_to,
                              retry_after=r.retry_after)


def long_failing(store: Store, now: datetime, days: int = 7,
                 names: dict[str, str] | None = None) -> list[FeedError]:
    """Feeds failing without a success for more than ``days``, oldest failure first.

    ``names`` (url -> name) limits the answer to the configured feeds; a feed removed
    from the config is not reported. The error text says since when, for the footer.
    """
    cutoff = now - timedelta(days=days)
    out: list[tuple[datetime, FeedError]] = []
    for row in store.feeds():
        if names is not None and row["url"] not in names:
            continue
        since = from_iso(_col(row, "failing_since"))  # type: ignore[arg-type]
        if not row["failures"] or since is None or since >= cutoff:  # more than `days`
            continue
        name = names[row["url"]] if names is not None else row["name"]
        err = row["last_error"] or "failing"
        out.append((since, FeedError(
            feed=name, url=row["url"],
            error=f"failing since {since.date().isoformat()} ({row['failures']} runs): {err}")))
    out.sort(key=lambda p: p[0])
    return [fe for _, fe in out]


def merge_feed_errors(run_errors: Sequence[FeedError], failing: Sequence[FeedError]) -> list[FeedError]:
    """This run's failures, with long-failing ones said so, plus long-failing feeds not tried now."""
    long = {fe.url: fe for fe in failing}
    out = [long.pop(fe.url) if fe.url in long else fe for fe in run_errors]
    out.extend(long.values())
    return out


# --- the `feeds check` table ----------------------------------------------------------------


def _when(dt: datetime | None, tz: tzinfo | None) -> str:
    if dt is None:
        return "never"
    return (dt.astimezone(tz) if tz else dt).strftime("%Y-%m-%d %H:%M")


def _status(h: FeedHealth) -> str:
    if h.outcome == "not due":
        return "due later"
    if h.outcome == "unchanged":
        return "304"
    if h.status is not None:
        return str(h.status) if h.outcome != "failed" else f"failed {h.status}"
    return "failed" if h.failed else "-"


def _note(h: FeedHealth, tz: tzinfo | None) -> str:
    notes: list[str] = []
    if h.failed and h.error:
        notes.append(h.error)
    if h.outcome == "not due" and h.retry_after:
        notes.append(f"not due before {_when(h.retry_after, tz)}")
    if h.failed and h.failing_since and h.failures > 1:
        notes.append(f"failing since {_when(h.failing_since, tz)} ({h.failures} runs)")
    if h.moved_to:
        notes.append(f"moved permanently to {h.moved_to}: update feeds.yaml")
    return "; ".join(notes) or "-"


def format_table(rows: Sequence[FeedHealth], tz: tzinfo | None = None) -> str:
    """A fixed-width table: feed, status, items (new), last success, error or note."""
    header = ("FEED", "STATUS", "ITEMS", "LAST SUCCESS", "ERROR / NOTE")
    body = []
    for h in rows:
        items = "-" if h.items is None else str(h.items)
        if h.new_items:
            items += f" ({h.new_items} new)"
        body.append((h.name, _status(h), items, _when(h.last_success, tz), _note(h, tz)))
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
    lines = []
    for r in [header, *body]:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:4])) + "  " + r[4])
    failed = sum(1 for h in rows if h.failed)
    lines.append(f"{len(rows)} feeds, {failed} failed")
    return "\n".join(line.rstrip() for line in lines)


def check_feeds(config: "Config", *, now: datetime, fetcher: "Fetcher",
                lock_wait: float = 60.0) -> list[FeedHealth]:
    """Fetch every configured feed once, store what came in, and return each one's health.

    The items are stored like a build would (first seen now): the validators are
    saved too, so not storing them would make the next build's 304 lose them.
    """
    from .lock import run_lock
    from .pipeline import fetch_feeds

    with run_lock(config.state_path, wait=lock_wait), Store(config.state_path) as store:
        results = fetch_feeds(config, store, now, fetcher)
        upserted = store.upsert_articles([a for r in results for a in r.articles], now)
        record_results(store, results, now)  # after the items: see pipeline.fetch_feeds
        new_keys = set(upserted.new_keys)
        return [health_from_row(r.source.name, r.source.url, store.feed_state(r.source.url),
                                outcome_of(r),
                                new_items=sum(1 for a in r.articles if a.key in new_keys)
                                if r.articles else None)
                for r in results]
