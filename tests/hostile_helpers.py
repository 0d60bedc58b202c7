"""Helpers for the hostile-input, crash and concurrency tests (issue 8).

A real HTTP server on 127.0.0.1 whose routes can serve fixed bytes, hold a
response until the test releases it (a slow feed that keeps a build in its fetch
stage), and count requests; plus config writing and output checks shared by
``test_hostile_feeds.py``, ``test_crash_kill.py`` and ``test_concurrency_lock.py``.
"""

from __future__ import annotations

import http.server
import json
import re
import socketserver
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"


def build_time() -> datetime:
    """The builds run at the real time, so the feeds' dates are recent (fetch uses the clock)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def fill_placeholders(body: bytes, now: datetime, secret_path: str = "/nonexistent") -> bytes:
    recent = now - timedelta(days=2)
    subs = {"__RECENT__": format_datetime(recent, usegmt=True),
            "__RECENT_ISO__": recent.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "__SECRET_PATH__": secret_path}
    for key, value in subs.items():
        body = body.replace(key.encode("utf-8"), value.encode("utf-8"))
        body = body.replace(key.encode("utf-16-le"), value.encode("utf-16-le"))
    return body


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml"
    hold: threading.Event | None = None  # set: respond; unset: wait (a slow feed)
    hits: int = 0


@dataclass
class FeedServer:
    """Routes by path; ``url(path)`` gives the address to put into a config."""

    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    waiting: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes, **kw: Any) -> str:
        self.routes[path] = Route(body=body, **kw)
        return self.url(path)


def _handler(server: FeedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            route = server.routes.get(urlsplit(self.path).path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            route.hits += 1
            if route.hold is not None and not route.hold.is_set():
                server.waiting.release()  # tell the test a build is now inside its fetch
                route.hold.wait(120)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except OSError:  # the client was killed
                pass

    return H


class _Threading(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve() -> Iterator[FeedServer]:
    """Generator for a fixture: a running ``FeedServer``."""
    fs = FeedServer()
    srv = _Threading(("127.0.0.1", 0), _handler(fs))
    fs.port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield fs
    finally:
        for r in fs.routes.values():
            if r.hold is not None:
                r.hold.set()
        srv.shutdown()
        srv.server_close()


def write_config(folder: Path, feeds: list[tuple[str, str]], *, extra: str = "",
                 seeds: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "newsletter:",
        "  title: Privacy Alerts",
        "  timezone: Europe/Berlin",
        "  period_days: 7",
        "  max_age_days: 14",
        "  max_stories: 1000",
        "  output_dir: digests",
        "  state: state/state.sqlite3",
        *(f"  {ln}" for ln in extra.splitlines() if ln.strip()),
        f"seeds: {'seeds' if seeds else 'null'}",
        "watchlist: [TikTok, ByteDance]",
        "feeds:" if feeds else "feeds: []",
    ]
    for name, url in feeds:
        lines += [f"  - name: {json.dumps(name)}", f"    url: {url}"]
    p = folder / "feeds.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


# --- what the outputs may not contain -------------------------------------------------

FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "form", "input",
                  "button", "textarea", "select", "img", "image", "svg", "math", "video",
                  "audio", "source", "picture", "link", "base", "applet", "meta-refresh"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_URL_IN_TEXT = re.compile(r"https?://[^\s)<>\"'\]]+")


def is_tracking(name: str) -> bool:
    from newsletter.identity import is_tracking_param

    return is_tracking_param(name)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_head = False
        self.styles_outside_head = 0
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        if tag == "style" and not self.in_head:
            self.problems.append("<style> outside the template's head")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.problems.append("<meta http-equiv>")
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append(f"{tag} {k}=")
            if k == "style" and tag != "html":
                self.problems.append(f"{tag} style=")
            if k in ("href", "src", "action", "formaction", "background", "poster", "srcset",
                     "xlink:href"):
                val = (v or "").strip()
                if k != "href" or not val.lower().startswith(("http://", "https://", "#", "mailto:")):
                    self.problems.append(f"{tag} {k}={val[:60]!r}")
                if k == "href":
                    self.hrefs.append(val)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def audit_html(html: str) -> tuple[list[str], list[str]]:
    """(problems, hrefs) of a rendered HTML digest, parsed with html.parser."""
    a = _Audit()
    a.feed(html)
    a.close()
    return a.problems, a.hrefs


def audit_text(text: str, name: str, *, markup: bool = True) -> list[str]:
    """Problems in an .md/.txt/.json output: markup or URLs that must never come from a feed.

    ``markup=False`` for the HTML digest, whose elements ``audit_html`` checks (its
    template has a ``<style>`` of its own).
    """
    problems = []
    low = text.lower()
    tags = ("<script", "<iframe", "<form", "<img", "<style") if markup else ()
    for bad in ("javascript:", "data:text", "onerror=", "onload=", "onclick=", "onmouseover=",
                "vbscript:", *tags):
        if bad in low:
            problems.append(f"{name}: {bad!r}")
    if _CONTROL.search(text):
        problems.append(f"{name}: control character {_CONTROL.search(text).group(0)!r}")  # type: ignore[union-attr]
    for url in _URL_IN_TEXT.findall(text):
        problems += [f"{name}: tracking parameter in {url}" for k, _ in
                     parse_qsl(urlsplit(url.replace("&amp;", "&")).query) if is_tracking(k)]
    return problems


def json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v)


def all_titles(doc: dict[str, Any]) -> list[str]:
    """Every headline in a digest JSON: stories, the reports merged into them, overflow."""
    out = []
    for s in doc["stories"]:
        out.append(s["title"])
        out += [o["title"] for o in s.get("also", [])]
    out += [o["title"] for o in doc.get("overflow", [])]
    return out


def store_rows(state: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()
