"""A real HTTP server on 127.0.0.1 for the fetch tests: routes are plain functions.

Each route gets the request handler and writes whatever it likes (status, headers,
a slow or endless body). The server records every request (path and headers) and
the most requests it had in flight at once, so tests can check what the fetcher
sent and how many it sent in parallel.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Route = Callable[[BaseHTTPRequestHandler], None]


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()  # set at teardown: releases handlers that hang
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                path = self.path
                with server.lock:
                    server.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    route = server.routes.get(path.split("?")[0])
                    if route is None:
                        send(self, 404, b"not found", "text/plain")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client hanging up (what the size and deadline tests do) is expected

        self.httpd = Server((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests]

    def headers_for(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]

    def __enter__(self) -> "FeedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         ctype: str = "application/rss+xml", headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    if body:
        h.wfile.write(body)


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    """A small RSS 2.0 document; each item: title, link, guid?, description?, date?."""
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           f"<title>{title}</title><link>http://example.org/</link><description>d</description>"]
    for it in items:
        out.append("<item>")
        out.append(f"<title>{it['title']}</title>")
        if "link" in it:
            out.append(f"<link>{it['link'].replace('&', '&amp;')}</link>")
        if "guid" in it:
            out.append(f'<guid isPermaLink="false">{it["guid"]}</guid>')
        out.append(f"<description>{it.get('description', 'Some text.')}</description>")
        date = it.get("date") or format_datetime(datetime(2026, 11, 20, 12, tzinfo=timezone.utc))
        out.append(f"<pubDate>{date}</pubDate>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "".join(out).encode("utf-8")


def simple_feed(n: int = 3, prefix: str = "Item") -> bytes:
    return rss(f"{prefix} feed", [{"title": f"{prefix} {i} about data protection",
                                   "link": f"http://example.org/{prefix.lower()}/{i}",
                                   "guid": f"{prefix.lower()}-{i}"} for i in range(n)])
