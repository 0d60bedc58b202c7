"""``newsletter preview``: read an issue before it is sent (issue 7).

A small HTTP server on loopback that shows the output folder's issues: the newest
one at ``/`` as the email will look (CSS inlined as the mail is), a page per issue,
the archive, and the plain-text and Markdown versions one click away. A rebuild
(``POST /rebuild``, or any page with ``?rebuild=1``) builds the current week and
shows the result.

Template edits show on reload: when a template is newer than an issue's HTML file,
the page is rendered again from the issue's JSON with the current templates
(nothing is written; the bar says so and offers the rebuild that writes it).

Only files of the output folder are served, and only names taken from its
listing, never a path built from the request. The app is a plain function of
(method, path, headers) so tests can call it directly, and the same object
answers real HTTP through ``http.server``.
"""

from __future__ import annotations

import html
import http.server
import ipaddress
import json
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from .archive import FEED_NAME, INDEX_NAME, ISSUE_RE, IssueSummary, archive_view, render_index
from .archive import scan_issues
from .exceptions import NewsletterError, UsageError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
TEXT_TYPES = {
    "html": "text/html; charset=utf-8",
    # text/plain, not text/markdown: browsers show it instead of downloading it
    "md": "text/plain; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
_ISSUE_PATH = re.compile(r"^/issues/([0-9]{4}-W[0-9]{2})(?:\.(html|txt|md|json))?$")
_FILE_PATH = re.compile(r"^/([0-9]{4}-W[0-9]{2})\.(html|txt|md|json)$")
# No script runs in a preview page: the digest has none, and sanitised seeds must
# not smuggle one in. Styles are inline by design; forms post only back here.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def inline_css(document: str, *, issue: str = "", data: Mapping[str, Any] | None = None) -> str:
    """The HTML as mail clients get it: CSS inlined, ``@media`` rules kept for dark mode.

    Uses the email composer's own pass (``email_message.email_html``: CSS made
    mail-safe and inlined, trimmed under Gmail's clipping size) so the preview
    cannot drift from the mail; css-inline directly if that is unavailable.
    """
    try:
        from .email_message import IssueContent, email_html
    except ImportError:
        email_html = None  # type: ignore[assignment]
    if email_html is not None:
        try:
            content = IssueContent(issue=issue, text="", html=document, data=dict(data or {}),
                                   html_path=Path(f"{issue or 'preview'}.html"))
            return str(email_html(content).html)
        except (TypeError, AttributeError) as e:  # its interface moved on: say so, still show
            log.warning("preview: the email composer's inliner failed (%s); using css-inline", e)
    import css_inline

    return str(css_inline.inline(document, keep_at_rules=True, load_remote_stylesheets=False))


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


Builder = Callable[[], str]  # builds the current week, returns the issue id


class Preview:
    """The preview as a function from requests to responses."""

    def __init__(self, config: Any, *, out_dir: Path | None = None,
                 build: Builder | None = None, title: str | None = None) -> None:
        self.config = config
        self.out_dir = Path(out_dir) if out_dir is not None else Path(config.output_dir)
        self.title = title or config.settings.title
        self._build = build
        self._build_lock = threading.Lock()

    # --- data -----------------------------------------------------------------------------

    def issues(self) -> list[IssueSummary]:
        return scan_issues(self.out_dir)

    def _file(self, issue: str, ext: str) -> Path | None:
        """The issue's file, only if the folder lists it (names never come from the request)."""
        name = f"{issue}.{ext}"
        try:
            listed = {p.name for p in self.out_dir.iterdir() if p.is_file()}
        except OSError:
            return None
        return self.out_dir / name if name in listed else None

    def _json(self, issue: str) -> dict[str, Any]:
        path = self._file(issue, "json")
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _template_dirs(self) -> list[Path]:
        from .render import BUILTIN_TEMPLATES

        user = self.config.templates_dir
        return ([user] if user else []) + [BUILTIN_TEMPLATES]

    def _templates_mtime(self) -> float:
        newest = 0.0
        for d in self._template_dirs():
            try:
                newest = max([newest] + [p.stat().st_mtime for p in d.glob("digest*.j2")] +
                             [p.stat().st_mtime for p in d.glob("_*.j2")])
            except OSError:
                continue
        return newest

    def issue_html(self, issue: str) -> tuple[str, str | None] | None:
        """(HTML, note) for an issue page: the file, or a fresh render when templates changed."""
        path = self._file(issue, "html")
        if path is None:
            return None
        doc = path.read_text(encoding="utf-8")
        if self._templates_mtime() <= path.stat().st_mtime:
            return doc, None
        try:
            doc = self.rerender(issue)
        except Exception as e:  # show the file and say why, rather than fail the page
            log.warning("preview: could not re-render %s: %s", issue, e)
            return doc, f"Templates changed, but re-rendering failed ({e}); showing the file."
        return doc, ("Templates changed since this issue was built: shown with the current "
                     "templates. Rebuild to write the files.")

    def rerender(self, issue: str) -> str:
        """The issue's HTML from its JSON with the current templates; writes nothing."""
        from .render import render_digest

        data = json.loads((self.out_dir / f"{issue}.json").read_text(encoding="utf-8"))
        digest = digest_from_json(data, self.config)
        return render_digest(digest, tz=self.config.tz,
                             templates_dir=self.config.templates_dir)["html"]

    # --- pages ----------------------------------------------------------------------------

    def bar(self, issue: str | None, note: str | None = None) -> str:
        """The preview's own navigation, put above the email; inline styles, fixed colours."""
        link = "color:#a8d1ff;text-decoration:underline;margin-right:.9rem;white-space:nowrap"
        parts = [f'<strong style="margin-right:.9rem;white-space:nowrap">Preview{": " + html.escape(issue) if issue else ""}'
                 "</strong>",
                 f'<a style="{link}" href="/archive">All issues</a>']
        if issue:
            q = html.escape(issue)
            parts += [f'<a style="{link}" href="/issues/{q}.txt">Plain-text version</a>',
                      f'<a style="{link}" href="/issues/{q}.md">Markdown version</a>',
                      f'<a style="{link}" href="/issues/{q}.html">HTML file as written</a>']
        parts.append('<form method="post" action="/rebuild" style="display:inline;margin:0">'
                     '<button type="submit" style="font:inherit;padding:.15rem .6rem;'
                     'border:1px solid #a8d1ff;border-radius:4px;background:#1f2a38;color:#fff;'
                     'cursor:pointer">Rebuild this week</button></form>')
        note_html = (f'<p style="margin:.4rem 0 0;color:#ffe08a">{html.escape(note)}</p>'
                     if note else "")
        return ('<nav aria-label="Preview" class="nl-preview-bar" style="background:#111418;'
                'color:#ffffff;font:14px/1.6 -apple-system,BlinkMacSystemFont,\'Segoe UI\','
                'Roboto,Helvetica,Arial,sans-serif;padding:.5rem 1rem;border-bottom:3px solid '
                '#a8d1ff">' + "".join(parts) + note_html + "</nav>")

    def page_issue(self, issue: str) -> Response:
        found = self.issue_html(issue)
        if found is None:
            return self.not_found(f"No issue {issue} in {self.out_dir}.")
        doc, note = found
        doc = inline_css(doc, issue=issue, data=self._json(issue))
        bar = self.bar(issue, note)
        m = re.search(r"<body[^>]*>", doc, re.I)
        doc = doc[:m.end()] + bar + doc[m.end():] if m else bar + doc
        return Response(200, doc.encode("utf-8"))

    def page_newest(self) -> Response:
        issues = self.issues()
        if issues:
            return self.page_issue(issues[0].issue)
        body = (f"<h1>{html.escape(self.title)}</h1><p>No issue has been built in "
                f"{html.escape(str(self.out_dir))} yet. Rebuild builds this week's.</p>")
        return self.simple_page("No issue yet", body, status=200, issue=None)

    def page_archive(self) -> Response:
        def links(issue: str, ext: str) -> str:
            return f"/issues/{issue}" if ext == "html" else f"/issues/{issue}.{ext}"

        view = archive_view(self.issues(), title=self.title, tz=self.config.tz, links=links,
                            feed_href="/" + FEED_NAME, preview=True)
        doc = render_index(view, self.config.templates_dir)
        m = re.search(r"<body[^>]*>", doc, re.I)
        bar = self.bar(None)
        doc = doc[:m.end()] + bar + doc[m.end():] if m else bar + doc
        return Response(200, doc.encode("utf-8"))

    def simple_page(self, title: str, body: str, *, status: int, issue: str | None = None) -> Response:
        doc = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
               '<meta name="viewport" content="width=device-width, initial-scale=1">'
               f"<title>{html.escape(title)}</title></head>"
               '<body style="margin:0;font:16px/1.5 system-ui,sans-serif">' + self.bar(issue) +
               f'<main style="padding:1rem">{body}</main></body></html>')
        return Response(status, doc.encode("utf-8"))

    def not_found(self, why: str = "Not found.") -> Response:
        return self.simple_page("Not found", f"<h1>Not found</h1><p>{html.escape(why)}</p>",
                                status=404)

    def raw(self, issue: str, ext: str) -> Response:
        path = self._file(issue, ext)
        if path is None:
            return self.not_found(f"No file {issue}.{ext} in the output folder.")
        return Response(200, path.read_bytes(), TEXT_TYPES[ext])

    def static(self, name: str) -> Response:
        try:
            listed = {p.name for p in self.out_dir.iterdir() if p.is_file()}
        except OSError:
            listed = set()
        if name not in listed:
            return self.not_found(f"No file {name} in the output folder.")
        ctype = ("application/atom+xml; charset=utf-8" if name == FEED_NAME
                 else "text/html; charset=utf-8")
        return Response(200, (self.out_dir / name).read_bytes(), ctype)

    # --- rebuild --------------------------------------------------------------------------

    def rebuild(self) -> Response:
        if self._build is None:
            return self.simple_page("Rebuild", "<h1>Rebuild</h1><p>Rebuilding is off.</p>",
                                    status=405)
        with self._build_lock:  # one build at a time; the pipeline's file lock guards the rest
            try:
                issue = self._build()
            except NewsletterError as e:
                return self.simple_page("Rebuild failed", "<h1>Rebuild failed</h1><p>"
                                        f"{html.escape(str(e))}</p>", status=500)
        return Response(303, b"", headers={"Location": f"/issues/{issue}"})

    # --- routing --------------------------------------------------------------------------

    def respond(self, method: str, target: str, headers: Mapping[str, str] | None = None) -> Response:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        parts = urlsplit(target)
        path = unquote(parts.path)
        # Anything that could step outside the folder is refused outright; the
        # routes below only ever look names up in the folder's listing anyway.
        if "\x00" in path or "\\" in path or any(seg in ("..", ".") for seg in path.split("/")):
            return self.simple_page("Refused", "<h1>Refused</h1><p>Only the output folder's "
                                    "files are served.</p>", status=400)
        if method == "POST":
            if path != "/rebuild":
                return self.not_found()
            if not same_origin(headers):
                return self.simple_page("Refused", "<h1>Refused</h1><p>Cross-site request.</p>",
                                        status=403)
            return self.rebuild()
        if method not in ("GET", "HEAD"):
            return Response(405, b"", headers={"Allow": "GET, HEAD, POST"})
        if parse_qs(parts.query).get("rebuild", [""])[0] in ("1", "true", "yes"):
            if headers.get("sec-fetch-site") == "cross-site":
                return self.simple_page("Refused", "<h1>Refused</h1><p>Cross-site request.</p>",
                                        status=403)
            return self.rebuild()
        if path in ("/", ""):
            return self.page_newest()
        if path in ("/archive", "/archive/"):
            return self.page_archive()
        if path in ("/" + INDEX_NAME, "/" + FEED_NAME):
            return self.static(path[1:])
        m = _ISSUE_PATH.match(path)
        if m:
            issue, ext = m.group(1), m.group(2)
            return self.page_issue(issue) if ext is None else self.raw(issue, ext)
        m = _FILE_PATH.match(path)
        if m and ISSUE_RE.match(m.group(1)):
            return self.raw(m.group(1), m.group(2))
        return self.not_found()


def same_origin(headers: Mapping[str, str]) -> bool:
    """A browser's POST from another site carries its Origin; ours matches the Host."""
    origin = headers.get("origin")
    if not origin or origin == "null":
        return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == headers.get("host", "")


# --- digest from JSON (for re-rendering after a template edit) ----------------------------

def digest_from_json(data: Mapping[str, Any], config: Any) -> Any:
    """A ``Digest`` close enough to the built one to render it again.

    The JSON carries every shown field; the store adds what it lacks (a Markdown
    seed's body, the language of merged reports). Labels come from the tagger's
    taxonomy when it loads, else the topic ids stand in.
    """
    from .store import Store, from_iso
    from .types import (Article, Digest, DigestCounts, FeedError, Item, Rank, Section, Story,
                        TaggedItem, TagResult)

    labels: dict[str, str] = {}
    try:
        from .tag import Tagger

        labels = dict(Tagger.load(user_topics=config.model.topics).labels)
    except Exception as e:  # the taxonomy is a nicety here
        log.info("preview: no topic labels (%s)", e)

    state = Path(config.state_path)
    store = Store(state) if state.exists() else None

    def lookup(key: str | None, url: str | None) -> Article | None:
        if store is None:
            return None
        it = store.item(key) if key else None
        if it is None and url:
            row = store.db.execute("SELECT key FROM items WHERE url = ? LIMIT 1", (url,)).fetchone()
            it = store.item(row["key"]) if row else None
        return it.article if it else None

    def tagged(d: Mapping[str, Any], key: str | None, fallback_lang: str) -> TaggedItem:
        known = lookup(key, d.get("url"))
        a = Article(kind=known.kind if known else "feed", source=str(d.get("source") or ""),
                    title=str(d.get("title") or ""), text="", url=d.get("url"),
                    published=from_iso(d.get("published")),
                    language=str(d.get("language") or (known.language if known else fallback_lang)),
                    body_markdown=known.body_markdown if known else None)
        k = key or a.url or a.title
        return TaggedItem(item=Item(key=k, article=a, first_seen=a.published or
                                    datetime.now(timezone.utc)), tags=TagResult())

    def story(d: Mapping[str, Any]) -> Story:
        lead = tagged(d, d.get("id"), "en")
        also = tuple(tagged(o, None, lead.article.language) for o in d.get("also") or [])
        topics = tuple(d.get("topics") or ())
        for t in topics:
            labels.setdefault(t, t)
        rank = d.get("rank") or {}
        return Story(lead=lead, also=also, topics=topics,
                     evidence={t: tuple(v) for t, v in (d.get("evidence") or {}).items()},
                     watchlist=tuple(d.get("watchlist") or ()), summary=d.get("summary"),
                     rank=Rank(score=float(rank.get("score", 0.0)),
                               components=dict(rank.get("components") or {})))

    try:
        alerts, top, by_topic = [], [], {}  # type: ignore[var-annotated]
        for d in data.get("stories") or []:
            section = d.get("section") or ("alerts" if d.get("watchlist") else
                                           d.get("main_topic") or (d.get("topics") or ["other"])[0])
            s = story(d)
            if section == "alerts":
                alerts.append(s)
            elif section == "top":
                top.append(s)
            else:
                by_topic.setdefault(section, []).append(s)
        overflow = tuple(story(d) for d in data.get("overflow") or [])
    finally:
        if store is not None:
            store.close()
    order = list(labels)
    sections = tuple(Section(topic=t, label=labels.get(t, t), stories=tuple(ss))
                     for t, ss in sorted(by_topic.items(),
                                         key=lambda kv: order.index(kv[0]) if kv[0] in order
                                         else len(order)))
    c = data.get("counts") or {}
    counts = DigestCounts(**{k: int(c[k]) for k in DigestCounts.__dataclass_fields__ if k in c})
    intro = None
    if config.intro_path is not None and Path(config.intro_path).exists():
        intro = Path(config.intro_path).read_text(encoding="utf-8")
    period = data.get("period") or {}
    return Digest(
        issue=str(data["issue"]), title=str(data.get("title") or ""),
        period_start=from_iso(period.get("start")), period_end=from_iso(period.get("end")),  # type: ignore[arg-type]
        generated_at=from_iso(data.get("generated_at")),  # type: ignore[arg-type]
        alerts=tuple(alerts), top=tuple(top), sections=sections, overflow=overflow,
        feed_errors=tuple(FeedError(feed=str(e.get("feed", "")), url=str(e.get("url", "")),
                                    error=str(e.get("error", "")))
                          for e in data.get("feed_errors") or []),
        counts=counts, intro_markdown=intro, topic_labels=labels)


# --- HTTP -------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    app: Preview  # set on the subclass made by make_server
    check_host: bool = True
    server_version = "newsletter-preview"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        log.info("preview: " + format, *args)

    def _answer(self, method: str) -> None:
        hdrs = {k: v for k, v in self.headers.items()}
        host = urlsplit("//" + hdrs.get("Host", "")).hostname or ""
        if self.check_host and not is_loopback(host):
            # DNS rebinding: a page on evil.example resolving to 127.0.0.1 must get nothing
            resp = Response(421, b"Misdirected request: use http://127.0.0.1/", "text/plain")
        else:
            try:
                resp = self.app.respond(method, self.path, hdrs)
            except Exception:
                log.exception("preview: error answering %s %s", method, self.path)
                resp = Response(500, b"Internal error; see the terminal.", "text/plain")
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(resp.body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._answer("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 65536))
        self._answer("POST")


class PreviewServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def make_server(app: Preview, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                allow_remote: bool = False) -> PreviewServer:
    """Bind the preview; anything but loopback needs ``allow_remote`` (there is no login)."""
    loopback = is_loopback(host)
    if not loopback and not allow_remote:
        raise UsageError(f"refusing to serve on {host}: the preview has no login, so it binds "
                         "to loopback only; add --allow-remote if you really mean it")
    handler = type("Handler", (_Handler,), {"app": app, "check_host": loopback})
    cls: type[PreviewServer] = PreviewServer
    if ":" in host:
        cls = type("PreviewServer6", (PreviewServer,), {"address_family": socket.AF_INET6})
    try:
        return cls((host.strip("[]"), port), handler)
    except OSError as e:
        hint = f"; try --port {port + 1}" if port else ""
        raise NewsletterError(f"cannot listen on {host}:{port}: {e.strerror or e}{hint}") from None


def url_of(server: PreviewServer) -> str:
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else str(host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def build_current_week(config: Any, *, offline: bool = False,
                       clock: Callable[[], datetime] | None = None) -> Builder:
    """The rebuild action: ``newsletter build`` for the current week, returning its id."""
    def run() -> str:
        from .pipeline import build

        now = clock() if clock else datetime.now(timezone.utc)
        return str(build(config, now=now, offline=offline).rendered.issue)

    return run


def serve(config: Any, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          allow_remote: bool = False, offline: bool = False,
          clock: Callable[[], datetime] | None = None,
          announce: Callable[[str], None] = print) -> None:
    """Run the preview until interrupted; prints the URL first."""
    app = Preview(config, build=build_current_week(config, offline=offline, clock=clock))
    server = make_server(app, host, port, allow_remote=allow_remote)
    announce(f"Previewing {app.out_dir} at {url_of(server)}  (Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
