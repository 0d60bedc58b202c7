"""The static archive of an output folder: ``index.html`` and an Atom ``feed.xml``.

Issue 7: every build rewrites both, so the folder can be published anywhere as it
is, and a reader can subscribe to their own digest. The archive is derived from
the folder itself (each ``<issue>.json``, the contract's marker that an issue is
whole), not from the state database: a folder copied elsewhere, or built with
``--out``, describes exactly the issues it holds.

The feed is written with ElementTree (escaping guaranteed, no template to get
wrong); its ids are ``urn:uuid`` values derived from the newsletter's title and
the issue id only, so rebuilding an issue never makes a feed reader show it twice
(RFC 4287 section 4.2.6: an entry's id never changes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Sequence
from xml.etree import ElementTree as ET


log = logging.getLogger(__name__)

INDEX_NAME = "index.html"
FEED_NAME = "feed.xml"
ARCHIVE_TEMPLATE = "archive.html.j2"
ATOM_NS = "http://www.w3.org/2005/Atom"
HEADLINES = 3  # titles quoted in an issue's summary line
# Contract: an issue id is the ISO week of the period's end. Only such names are
# archived, which also keeps stray JSON files (and odd names) out of every link.
ISSUE_RE = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
_BODY_RE = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)


@dataclass(frozen=True)
class IssueSummary:
    """One built issue as the archive lists it, read back from its JSON."""

    issue: str  # e.g. "2026-W47"
    title: str  # the newsletter's title when the issue was built
    period_start: datetime  # aware
    period_end: datetime  # aware
    generated_at: datetime  # aware; the entry's "updated"
    stories: int  # stories shown (alerts included)
    alerts: int  # stories in the alerts section
    headlines: tuple[str, ...]  # the first few story titles, in display order
    headline_langs: tuple[str, ...] = ()  # their languages, for lang attributes

    @property
    def summary(self) -> str:
        """One line for the archive and the feed: counts, then the first headlines."""
        counts = f"{_plural(self.alerts, 'alert')}, {_plural(self.stories, 'story', 'stories')}"
        if not self.headlines:
            return f"{counts}."
        more = "; …" if self.stories > len(self.headlines) else ""
        return f"{counts}: " + "; ".join(self.headlines) + more


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _is_alert(story: dict[str, Any]) -> bool:
    # "section" is an optional field of ours; without it, a watchlist hit is what
    # makes an alert (CONTRACT.md, feeds.yaml: watchlist).
    if "section" in story:
        return story["section"] == "alerts"
    return bool(story.get("watchlist"))


def read_summary(path: Path) -> IssueSummary | None:
    """The summary of one ``<issue>.json``, or None (logged) when it is not a whole issue."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("archive: skipping %s: %s", path, e)
        return None
    if not isinstance(data, dict) or data.get("issue") != path.stem:
        log.warning("archive: skipping %s: not an issue's JSON", path)
        return None
    period = data.get("period") or {}
    start, end = _parse_time(period.get("start")), _parse_time(period.get("end"))
    generated = _parse_time(data.get("generated_at")) or end
    if start is None or end is None or generated is None:
        log.warning("archive: skipping %s: no period", path)
        return None
    stories = [s for s in data.get("stories") or [] if isinstance(s, dict)]
    alerts = sum(1 for s in stories if _is_alert(s))
    return IssueSummary(
        issue=path.stem, title=str(data.get("title") or ""), period_start=start, period_end=end,
        generated_at=generated, stories=len(stories), alerts=alerts,
        headlines=tuple(str(s.get("title") or "") for s in stories[:HEADLINES]),
        headline_langs=tuple(str(s.get("language") or "") for s in stories[:HEADLINES]))


def scan_issues(out_dir: Path) -> list[IssueSummary]:
    """Every whole issue in the folder, newest period first."""
    if not out_dir.is_dir():
        return []
    found = [s for p in out_dir.glob("*.json") if ISSUE_RE.match(p.stem)
             for s in [read_summary(p)] if s is not None]
    return sorted(found, key=lambda s: (s.period_end, s.issue), reverse=True)


# --- links ---------------------------------------------------------------------------

Links = Callable[[str, str], str]  # (issue, extension) -> href


def static_links(issue: str, ext: str) -> str:
    """Relative links between the files of one folder, so it can be published anywhere."""
    return f"{issue}.{ext}"


# --- index.html ------------------------------------------------------------------------

def _date(dt: datetime, tz: tzinfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d")


def archive_view(issues: Sequence[IssueSummary], *, title: str, tz: tzinfo,
                 links: Links = static_links, feed_href: str | None = FEED_NAME,
                 preview: bool = False) -> dict[str, Any]:
    """What ``archive.html.j2`` sees: plain values, hrefs already made."""
    return {
        "title": title,
        "feed_href": feed_href,
        "preview": preview,
        "issues": [{
            "issue": s.issue, "title": s.title or title,
            "period_start": _date(s.period_start, tz), "period_end": _date(s.period_end, tz),
            "generated_at": s.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
            "stories": s.stories, "alerts": s.alerts,
            "headlines": [{"title": t, "language": lg} for t, lg in
                          zip(s.headlines, s.headline_langs + ("",) * len(s.headlines))],
            "summary": s.summary,
            "href": links(s.issue, "html"), "txt_href": links(s.issue, "txt"),
            "md_href": links(s.issue, "md"),
        } for s in issues],
    }


def render_index(view: dict[str, Any], templates_dir: Path | None = None) -> str:
    """The archive page; the user's ``archive.html.j2`` wins over the built-in one."""
    from .render import render_template

    return render_template(ARCHIVE_TEMPLATE, view, templates_dir)


# --- feed.xml --------------------------------------------------------------------------

def feed_id(title: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"newsletter:feed:{title}").urn


def entry_id(title: str, issue: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"newsletter:issue:{title}:{issue}").urn


def body_html(document: str) -> str:
    """The inside of ``<body>``, with the page's CSS inlined so colours survive in readers."""
    from .preview import inline_css

    try:
        document = inline_css(document)
    except Exception as e:  # an inliner hiccup must not cost the feed; the plain body is fine
        log.warning("archive: CSS not inlined for the feed: %s", e)
    m = _BODY_RE.search(document)
    return (m.group(1) if m else document).strip()


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_feed(issues: Sequence[IssueSummary], *, title: str, tz: tzinfo,
                html_of: Callable[[str], str | None],
                body_of: Callable[[str], str] = body_html) -> str:
    """An Atom 1.0 feed of the issues, newest first; ``html_of(issue)`` gives the issue's page,
    ``body_of(page)`` the entry's content (``body_html``, or a cache of it)."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", feed_id(title))
    sub(feed, "title", title)
    sub(feed, "subtitle", f"Every issue of {title}")
    updated = max((s.generated_at for s in issues), default=datetime(1970, 1, 1, tzinfo=timezone.utc))
    sub(feed, "updated", _iso(updated))
    sub(sub(feed, "author"), "name", title)
    sub(feed, "generator", "newsletter")
    sub(feed, "link", rel="self", href=FEED_NAME, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=INDEX_NAME, type="text/html")
    for s in issues:
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(title, s.issue))
        period = f"{_date(s.period_start, tz)} to {_date(s.period_end, tz)}"
        sub(entry, "title", f"{s.title or title} {s.issue} ({period})")
        sub(entry, "published", _iso(s.period_end))
        sub(entry, "updated", _iso(s.generated_at))
        sub(entry, "link", rel="alternate", href=static_links(s.issue, "html"), type="text/html")
        sub(entry, "summary", f"{period}. {s.summary}")
        html = html_of(s.issue)
        if html:
            sub(entry, "content", body_of(html), type="html")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


# --- the entry bodies, cached ---------------------------------------------------------

# What ``body_html`` gives depends on these modules and css-inline: a cache made by other code
# is not used (the feed must come out byte for byte as without the cache).
_BODY_CODE = ("archive.py", "preview.py", "email_message.py")
BODY_CACHE_KEEP = 16  # bodies kept besides this build's: other output folders (``--out``)


def _body_code_digest() -> str:
    from importlib import metadata, resources

    h = hashlib.sha256()
    try:
        h.update(metadata.version("css-inline").encode())
    except metadata.PackageNotFoundError:
        pass
    root = resources.files(__package__ or "newsletter")
    for name in _BODY_CODE:
        h.update(name.encode())
        h.update(root.joinpath(name).read_bytes())
    return h.hexdigest()


class BodyCache:
    """``body_html`` per page, keyed by a hash of the page, kept in one JSON file.

    Inlining an issue's CSS costs ~0.1-0.3 s and every build puts every issue in the
    feed: without this, a build's archive cost grows with the number of issues. Only a
    new or changed page is inlined. A missing, unreadable or stale file is an empty cache.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._code = _body_code_digest()
        self._old: dict[str, str] = {}
        self._used: dict[str, str] = {}
        self._new = False
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = None
        if isinstance(raw, dict) and raw.get("code") == self._code:
            bodies = raw.get("bodies")
            if isinstance(bodies, dict):
                self._old = {k: v for k, v in bodies.items()
                             if isinstance(k, str) and isinstance(v, str)}

    def __call__(self, document: str) -> str:
        key = hashlib.sha256(document.encode("utf-8", "surrogatepass")).hexdigest()
        body = self._used.get(key)
        if body is None:
            body = self._old.get(key)
            if body is None:
                body = body_html(document)
                self._new = True
            self._used[key] = body
        return body

    def save(self) -> None:
        """Write the file (atomically) if this build inlined a page or dropped one."""
        from .atomic import remove_stale_temps, write_atomic

        others = [(k, v) for k, v in self._old.items() if k not in self._used]
        kept = others[-BODY_CACHE_KEEP:]
        if not self._new and len(kept) == len(others):
            return
        bodies = dict(kept)
        bodies.update(self._used)  # this build's last: the first kept next time
        remove_stale_temps(self.path)
        write_atomic(self.path, json.dumps({"code": self._code, "bodies": bodies},
                                           ensure_ascii=False))


# --- the writer the pipeline calls ------------------------------------------------------

def write_archive(out_dir: Path, *, title: str, tz: tzinfo,
                  templates_dir: Path | None = None,
                  body_cache: Path | None = None) -> tuple[Path, Path]:
    """Rewrite ``index.html`` and ``feed.xml`` from the folder's issues, each atomically;
    ``body_cache``: the ``BodyCache`` file, so only new or changed issues are inlined."""
    from .atomic import remove_stale_temps, write_atomic

    issues = scan_issues(out_dir)

    def html_of(issue: str) -> str | None:
        try:
            return (out_dir / f"{issue}.html").read_text(encoding="utf-8")
        except OSError:
            return None

    index = render_index(archive_view(issues, title=title, tz=tz), templates_dir)
    cache = BodyCache(body_cache) if body_cache is not None else None
    feed = render_feed(issues, title=title, tz=tz, html_of=html_of,
                       body_of=cache if cache is not None else body_html)
    index_path, feed_path = out_dir / INDEX_NAME, out_dir / FEED_NAME
    for path, doc in ((index_path, index), (feed_path, feed)):
        remove_stale_temps(path)  # a build killed mid-write; the caller holds the run lock
        write_atomic(path, doc)
    if cache is not None:
        try:
            cache.save()
        except OSError as e:  # only a cache: the archive is written
            log.warning("archive: feed body cache not saved: %s", e)
    return index_path, feed_path
