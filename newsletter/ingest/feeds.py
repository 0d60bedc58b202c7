"""Parse a fetched feed document into ``Article`` values.

feedparser does the parsing (never the fetching: see ``fetch.py``). Entry HTML
is reduced to plain text here; the digest never shows feed HTML.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

from ..exceptions import FeedFetchError
from ..identity import canonical_url
from ..sanitize import html_to_text, plain_line
from ..types import Article
from .lang import detect_language

MAX_TEXT_CHARS = 20_000  # a feed entry longer than this is truncated: it is a digest, not an archive


@dataclass(frozen=True)
class FeedSource:
    """What ingest needs to know about a configured feed."""

    name: str
    url: str
    language: str | None = None


def _entry_datetime(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            try:
                return datetime.fromtimestamp(calendar.timegm(t), tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_text(entry: Any) -> str:
    parts: list[str] = []
    for c in entry.get("content") or []:
        if c.get("value"):
            parts.append(c["value"])
    if not parts:
        summary = entry.get("summary") or entry.get("description") or ""
        parts.append(summary)
    text = html_to_text("\n".join(parts))
    return text[:MAX_TEXT_CHARS]


def parse_feed(content: bytes, source: FeedSource, *, base_url: str | None = None,
               headers: dict[str, str] | None = None) -> list[Article]:
    """Articles of one feed document; raises ``FeedFetchError`` when it is not a feed."""
    import feedparser

    parsed = feedparser.parse(content, response_headers=headers or {})
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception")
        kind = "not a feed"
        if content.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html")):
            kind = "not a feed (an HTML page)"
        raise FeedFetchError(source.url, f"{kind}: {reason}" if reason else kind)
    base = base_url or source.url
    out: list[Article] = []
    for entry in parsed.entries:
        title = plain_line(entry.get("title") or "")
        text = _entry_text(entry)
        if not title and not text:
            continue
        link = entry.get("link")
        url = canonical_url(urljoin(base, link)) if link else None
        guid = entry.get("id") or None
        lang = source.language or detect_language(f"{title}\n{text}",
                                                  default=(parsed.feed.get("language") or "en")[:2])
        out.append(Article(
            kind="feed", source=source.name, title=title or plain_line(text, 120), text=text,
            url=url, published=_entry_datetime(entry), language=lang,
            guid=str(guid) if guid else None, feed_url=source.url))
    return out
