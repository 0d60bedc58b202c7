"""Which stored items go into an issue (CONTRACT.md, "Which items go into an issue").

Pure: no clock, no disk. The period ends at the build's ``now``; the issue id is
the ISO week of the period's end in the config's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Iterable

from .types import Item


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    issue: str  # e.g. "2026-W47"


def issue_id(end: datetime, tz: tzinfo) -> str:
    year, week, _ = end.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def period_ending(end: datetime, days: int, tz: tzinfo) -> Period:
    return Period(start=end - timedelta(days=days), end=end, issue=issue_id(end, tz))


def select_items(items: Iterable[Item], period: Period, max_age_days: int) -> list[Item]:
    """Items of this issue: already assigned to it, or new and not too old.

    A feed item first seen before the period but never put into an issue (a
    missed week) is still taken, so nothing is lost; an item published more than
    ``max_age_days`` before the period started is skipped (a new feed's back
    catalogue). Seeds go in whatever their date.
    """
    oldest = oldest_published(period, max_age_days)
    out = []
    for it in items:
        if it.issue == period.issue:
            out.append(it)
        elif it.issue is None and it.first_seen <= period.end:
            pub = it.article.published
            if it.article.kind == "seed" or pub is None or pub >= oldest:
                out.append(it)
    return out


def oldest_published(period: Period, max_age_days: int) -> datetime:
    """A feed item published before this and not in an issue yet goes into no issue: not
    into this one (``select_items``), nor any later one, whose bound is later still."""
    return period.start - timedelta(days=max_age_days)
