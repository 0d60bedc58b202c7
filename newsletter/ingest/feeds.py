"""Parse a fetched feed document into ``Article`` values.

feedparser does the parsing (never the fetching: see ``fetch.py``). Entry HTML
is reduced to plain text here; the digest never shows feed HTML.

Feeds are untrusted (issue 8). What this module guarantees, whatever the bytes:

- **No entity tricks.** A document whose DTD declares entities is refused before
  feedparser sees it ("billion laughs", quadratic blow-up, XXE reading local
  files). feedparser itself is safe too (it strips the DTD and its expat reader
  never loads external entities; ``tests/test_hostile_feeds.py`` checks both), but a
  refusal is a clear error where the fallback would be titles like ``&lol9;``.
- **Bounded work.** At most ``FeedSource.max_items`` entries (default 200, newest
  first) are turned into articles; HTML fragments are bounded in ``sanitize``.
  The size of the document itself is capped by the fetcher (issue 3).
- **A clear error or a best-effort parse.** An empty body, an HTML page or
  anything else without a feed structure raises ``FeedFetchError`` ("not a
  feed: ..."); wrong or missing encodings and truncated documents give what
  feedparser could recover.
- **Dates.** A date before 1990 is a placeholder (the epoch, a CMS default) and
  becomes ``None``; a date more than a day in the future is a broken clock or a
  scheduled post and becomes ``None`` too (the item is then dated by when it was
  first seen, as undated items are); up to a day ahead (a time-zone slip) is
  clamped to ``now``. So no output ever shows a future date.
- **Identity.** Relative links are resolved against the feed's home page (its
  ``<link>``), else against the feed's URL; links that
  are not http(s) are dropped (the item keeps its GUID or title identity). A GUID
  repeated inside one feed for the same link is one item (the newest entry
  wins); a GUID shared by entries with different links is not an identity at
  all (some feeds give every entry the feed's home page), so those entries are
  identified by their links.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

from ..exceptions import FeedFetchError
from ..sanitize import html_to_text, plain_line, safe_link, strip_controls, truncate
from ..types import Article
from .lang import detect_language

MAX_ITEMS = 200  # entries per feed per run, newest first: a huge feed costs no more than this
MAX_TEXT_CHARS = 20_000  # longer entries are truncated: it is a digest, not an archive
MAX_TITLE_CHARS = 300
MAX_GUID_CHARS = 512  # longer GUIDs are replaced by their hash
OLDEST_DATE = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class FeedSource:
    """What ingest needs to know about a configured feed."""

    name: str
    url: str
    language: str | None = None
    max_items: int = MAX_ITEMS  # config ``newsletter.max_items_per_feed``


# --- refusing entity declarations -------------------------------------------------------


class _RootReached(Exception):
    """The prolog is over: no DTD can follow the root element."""


def _entity_error(url: str) -> FeedFetchError:
    return FeedFetchError(url, "refused: the document declares XML entities in its DTD "
                               "(entity expansion or external entity attack); not parsed")


_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")


def _decode_for_scan(content: bytes) -> str:
    """The document as text, as well as can be guessed, for a textual safety scan."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16", errors="replace")
    m = _DECLARED_ENCODING.match(content.lstrip()[:200].replace(b"\x00", b""))
    enc = m.group(1).decode("ascii") if m else "utf-8"
    try:
        text = content.decode(enc, errors="replace")
    except LookupError:
        text = content.decode("utf-8", errors="replace")
    return text.replace("\x00", "")


def check_prolog(content: bytes, url: str) -> None:
    """Raise ``FeedFetchError`` if the document's DTD declares any entity.

    The same check as defusedxml's ``forbid_entities``, done with expat on the
    prolog only (it stops at the root element, so it costs nothing on a big
    feed). When expat cannot read the prolog (an encoding it does not know, a
    malformed declaration), the decoded text is searched for a declaration.
    """
    import xml.parsers.expat as expat

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def root(name: str, attrs: Any) -> None:
        raise _RootReached

    def entity(*args: Any) -> None:
        raise _entity_error(url)

    parser.StartElementHandler = root
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    try:
        step = 1 << 16
        for i in range(0, len(content), step):
            parser.Parse(content[i:i + step], False)
        parser.Parse(b"", True)
    except _RootReached:
        return
    except (expat.ExpatError, ValueError, LookupError):
        # ValueError: "multi-byte encodings are not supported" (Shift_JIS, GB2312, ...)
        if re.search(r"<!ENTITY\s", _decode_for_scan(content)):
            raise _entity_error(url) from None


# --- entries ------------------------------------------------------------------------


def entry_datetime(entry: Any, now: datetime) -> datetime | None:
    """The entry's publication time (see the module docstring for the rules)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if not t:
            continue
        try:
            dt = datetime.fromtimestamp(calendar.timegm(t), tz=timezone.utc)
        except (OverflowError, ValueError, OSError, TypeError):
            continue
        if dt < OLDEST_DATE or dt > now + FUTURE_SLACK:
            return None
        return min(dt, now)
    return None


def _entry_text(entry: Any) -> str:
    parts: list[str] = []
    for c in entry.get("content") or []:
        if c.get("value"):
            parts.append(c["value"])
    if not parts:
        summary = entry.get("summary") or entry.get("description") or ""
        parts.append(summary)
    return truncate(html_to_text("\n".join(parts)), MAX_TEXT_CHARS)


def _clean_guid(raw: Any) -> str | None:
    if not raw:
        return None
    guid = strip_controls(str(raw)).strip()
    if len(guid) > MAX_GUID_CHARS:
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()
    return guid or None


def _language(value: Any) -> str | None:
    code = str(value or "").strip().lower()[:2]
    return code if re.fullmatch(r"[a-z]{2}", code) else None


@dataclass(frozen=True)
class _Entry:
    entry: Any
    published: datetime | None
    url: str | None
    guid: str | None


def _newest_first(entries: list[_Entry]) -> list[_Entry]:
    """Dated entries newest first, then undated ones in document order (feeds list newest first)."""
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    dated = sorted((e for e in entries if e.published), reverse=True,
                   key=lambda e: e.published or epoch)
    return dated + [e for e in entries if e.published is None]


def _drop_shared_guids(entries: list[_Entry]) -> list[_Entry]:
    """A GUID given to entries with different links identifies nothing: drop it from them."""
    links: dict[str, set[str | None]] = {}
    for e in entries:
        if e.guid:
            links.setdefault(e.guid, set()).add(e.url)
    shared = {g for g, urls in links.items() if len(urls) > 1}
    if not shared:
        return entries
    return [_Entry(e.entry, e.published, e.url, None) if e.guid in shared and e.url else e
            for e in entries]


def parse_feed(content: bytes, source: FeedSource, *, base_url: str | None = None,
               headers: dict[str, str] | None = None, now: datetime | None = None,
               max_items: int | None = None) -> list[Article]:
    """Articles of one feed document, newest first; raises ``FeedFetchError`` when it is not a feed.

    ``base_url`` (the URL after redirects) resolves relative links; ``now``
    (default: the clock) bounds future dates; ``max_items`` overrides the
    source's cap.
    """
    import feedparser

    now = now or datetime.now(timezone.utc)
    cap = max_items if max_items is not None else source.max_items
    if not content.strip():
        raise FeedFetchError(source.url, "not a feed: the response body is empty")
    check_prolog(content, source.url)
    # resolve_relative_uris/sanitize_html: we resolve links ourselves and never use
    # feed HTML, so feedparser's own passes over every entry's HTML are wasted work.
    parsed = feedparser.parse(content, response_headers=headers or {},
                              resolve_relative_uris=False, sanitize_html=False)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise FeedFetchError(source.url, _not_a_feed(content, parsed))

    # Relative entry links: against the feed's own home page when it names one (a feed
    # served from a CDN or a feed service links relative to the site), else the
    # document's URL after redirects (RFC 3986 5.1.3). xml:base is applied by feedparser.
    doc_url = base_url or source.url
    home = parsed.feed.get("link")
    base = (safe_link(urljoin(doc_url, strip_controls(str(home)).strip())) if home else None) \
        or doc_url
    candidates: list[_Entry] = []
    for entry in parsed.entries:
        link = entry.get("link")
        url = safe_link(urljoin(base, strip_controls(str(link)).strip())) if link else None
        candidates.append(_Entry(entry, entry_datetime(entry, now), url,
                                 _clean_guid(entry.get("id"))))
    feed_lang = _language(parsed.feed.get("language")) or "en"
    out: list[Article] = []
    keys: set[str] = set()
    for c in _newest_first(_drop_shared_guids(candidates)):
        if len(out) >= cap:
            break
        title = plain_line(c.entry.get("title") or "", MAX_TITLE_CHARS)
        text = _entry_text(c.entry)
        if not title and not text:
            continue
        lang = source.language or detect_language(f"{title}\n{text[:2000]}", default=feed_lang)
        article = Article(
            kind="feed", source=source.name, title=title or plain_line(text, 120), text=text,
            url=c.url, published=c.published, language=lang, guid=c.guid, feed_url=source.url)
        if article.key in keys:
            continue  # the same item twice in one feed: the newest entry stands
        keys.add(article.key)
        out.append(article)
    return out


def _not_a_feed(content: bytes, parsed: Any) -> str:
    head = _decode_for_scan(content[:1024]).lstrip().lower()
    if head.startswith(("<!doctype html", "<html")) or "<html" in head[:300]:
        return "not a feed: got an HTML page (is the URL the site rather than its feed?)"
    reason = parsed.get("bozo_exception")
    detail = plain_line(str(reason), 200) if reason else "no RSS, Atom or JSON feed structure"
    return f"not a feed: {detail}"
