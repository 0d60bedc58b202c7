"""The fetcher against real HTTP servers on 127.0.0.1 (issue 3, "Tests that must exist").

Short timeouts and backoff come in through the constructor, so the whole file runs
in seconds; nothing asserts on elapsed time. A hanging route blocks until the
server stops, so a fetcher that did not cut it would hang the test (guarded by a
join timeout far above the deadline).
"""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.fetch_helpers import FeedServer, rss, send, simple_feed
from newsletter.health import (
    feed_states, format_table, health_from_row, long_failing, merge_feed_errors, outcome_of,
    record_results)
from newsletter import procs
from newsletter.ingest import fetch as fetch_mod
from newsletter.ingest.feeds import FeedSource
from newsletter.ingest.fetch import (
    USER_AGENT, FeedResult, FeedState, HttpFetcher, cache_until, parse_retry_after)
from newsletter.progress import LineProgress, terminal_progress
from newsletter.store import Store
from newsletter.types import FeedError

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)


def fast(**kw: Any) -> HttpFetcher:
    """Test bounds: everything short, parsing inline unless a test asks for processes."""
    opts: dict[str, Any] = dict(connect_timeout=1.0, read_timeout=1.0, deadline=3.0,
                                backoff=0.05, parse_workers=0)
    opts.update(kw)
    return HttpFetcher(clock=lambda: NOW, **opts)


@pytest.fixture
def server() -> Any:
    with FeedServer() as s:
        yield s


def src(server: FeedServer, path: str, name: str | None = None) -> FeedSource:
    return FeedSource(name=name or path.strip("/"), url=server.url(path))


def run_all(fetcher: HttpFetcher, sources: list[FeedSource],
            states: dict[str, FeedState] | None = None, guard: float = 20.0) -> list[FeedResult]:
    """fetch_all in a thread, so a fetcher that hangs fails the test instead of hanging it."""
    out: list[list[FeedResult]] = []
    t = threading.Thread(target=lambda: out.append(fetcher.fetch_all(sources, states, now=NOW)),
                         daemon=True)
    t.start()
    t.join(guard)
    assert out, "fetch_all did not finish: a feed was not cut off by its deadline"
    return out[0]


# --- conditional requests ------------------------------------------------------------------


def test_304_second_run_sends_validators_and_parses_nothing(server: FeedServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    body = simple_feed(3)
    lm = "Fri, 20 Nov 2026 12:00:00 GMT"

    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"' and h.headers.get("If-Modified-Since") == lm:
            send(h, 304, headers={"ETag": '"v1"'})
        else:
            send(h, 200, body, headers={"ETag": '"v1"', "Last-Modified": lm})

    server.routes["/feed"] = feed
    parses: list[str] = []
    real = fetch_mod._parse_job
    monkeypatch.setattr(fetch_mod, "_parse_job",
                        lambda body, source, *a: parses.append(source.url) or real(body, source, *a))
    sources = [src(server, "/feed")]
    with Store(tmp_path / "state.sqlite3") as store:
        first = run_all(fast(), sources, feed_states(store, sources))
        record_results(store, first, NOW)
        assert first[0].status == 200 and len(first[0].articles) == 3
        assert parses == [sources[0].url]
        row = store.feed_state(sources[0].url)
        assert row["etag"] == '"v1"' and row["last_modified"] == lm and row["items_last"] == 3

        second = run_all(fast(), sources, feed_states(store, sources))
        record_results(store, second, NOW)
    r = second[0]
    assert r.status == 304 and r.not_modified and r.articles == () and r.error is None
    assert parses == [sources[0].url]  # nothing parsed the second time
    sent = server.headers_for("/feed")[1]
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == lm
    assert outcome_of(r) == "unchanged"


def test_user_agent_and_gzip_deflate(server: FeedServer) -> None:
    body = simple_feed(2)
    server.routes["/gz"] = lambda h: send(h, 200, gzip.compress(body),
                                          headers={"Content-Encoding": "gzip"})
    server.routes["/deflate"] = lambda h: send(h, 200, zlib.compress(body),
                                               headers={"Content-Encoding": "deflate"})
    rs = run_all(fast(), [src(server, "/gz"), src(server, "/deflate")])
    assert [len(r.articles) for r in rs] == [2, 2]
    h = server.headers_for("/gz")[0]
    assert h["user-agent"] == USER_AGENT and "newsletter/" in USER_AGENT and "https://" in USER_AGENT
    assert "gzip" in h["accept-encoding"] and "deflate" in h["accept-encoding"]


# --- a feed that hangs costs one deadline, the others come in --------------------------------


def test_hanging_and_trickling_feeds_cut_at_deadline_others_present(server: FeedServer) -> None:
    def hang(h: BaseHTTPRequestHandler) -> None:
        server.stop.wait(60)  # accepts, never answers

    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.end_headers()
        h.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        while not server.stop.wait(0.2):  # one byte now and then: no read timeout ever fires
            h.wfile.write(b" ")
            h.wfile.flush()

    server.routes["/hang"] = hang
    server.routes["/trickle"] = trickle
    for i in range(4):
        server.routes[f"/ok{i}"] = lambda h, i=i: send(h, 200, simple_feed(2, f"F{i}"))
    sources = [src(server, "/hang"), src(server, "/trickle")] + \
        [src(server, f"/ok{i}") for i in range(4)]
    rs = run_all(fast(read_timeout=0.5, deadline=1.5, retries=2), sources)
    hang_r, trickle_r, *ok = rs
    assert hang_r.error is not None and ("timed out" in hang_r.error or "deadline" in hang_r.error)
    assert trickle_r.error is not None and "deadline" in trickle_r.error
    assert all(r.error is None and len(r.articles) == 2 for r in ok)


# --- retries, 429, Retry-After, max-age ---------------------------------------------------------


def test_5xx_retried_then_reported_and_a_transient_5xx_recovers(server: FeedServer) -> None:
    server.routes["/down"] = lambda h: send(h, 503, b"busy", "text/plain")
    calls = {"n": 0}

    def flaky(h: BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            send(h, 502, b"bad gateway", "text/plain")
        else:
            send(h, 200, simple_feed(1))

    server.routes["/flaky"] = flaky
    down, recovered = run_all(fast(retries=2), [src(server, "/down"), src(server, "/flaky")])
    assert server.paths().count("/down") == 3  # one try and two more
    assert down.error is not None and "HTTP 503" in down.error and "3 tries" in down.error
    assert down.attempts == 3
    assert recovered.error is None and len(recovered.articles) == 1 and recovered.attempts == 2


def test_429_skipped_and_not_asked_again_until_due(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/limited"] = lambda h: send(h, 429, b"slow down", "text/plain",
                                               headers={"Retry-After": "3600"})
    server.routes["/fine"] = lambda h: send(h, 200, simple_feed(1))
    sources = [src(server, "/limited"), src(server, "/fine")]
    with Store(tmp_path / "s.sqlite3") as store:
        rs = run_all(fast(), sources, feed_states(store, sources))
        record_results(store, rs, NOW)
        r = rs[0]
        assert r.status == 429 and "rate limited" in (r.error or "")
        assert r.retry_after == NOW + timedelta(hours=1)
        assert server.paths().count("/limited") == 1  # a 429 is not retried
        again = run_all(fast(), sources, feed_states(store, sources))
        assert again[0].skipped and again[0].retry_after == NOW + timedelta(hours=1)
        assert server.paths().count("/limited") == 1  # not asked before it is due
        assert again[1].error is None
        row = health_from_row("limited", sources[0].url, store.feed_state(sources[0].url),
                              outcome_of(again[0]))
        assert "not due before" in format_table([row])
        # `feeds check --force` asks anyway
        forced = HttpFetcher(clock=lambda: NOW, parse_workers=0, honour_retry_after=False)
        run_all(forced, sources, feed_states(store, sources))
        assert server.paths().count("/limited") == 2


def test_cache_control_max_age_defers_next_fetch(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/cached"] = lambda h: send(h, 200, simple_feed(1),
                                              headers={"Cache-Control": "public, max-age=600"})
    sources = [src(server, "/cached")]
    with Store(tmp_path / "s.sqlite3") as store:
        rs = run_all(fast(), sources, feed_states(store, sources))
        assert rs[0].retry_after == NOW + timedelta(minutes=10)
        record_results(store, rs, NOW)
        again = run_all(fast(), sources, feed_states(store, sources))
    assert again[0].skipped and server.paths().count("/cached") == 1


def test_retry_after_and_max_age_parsing() -> None:
    assert parse_retry_after("120", NOW) == NOW + timedelta(seconds=120)
    assert parse_retry_after("Mon, 23 Nov 2026 08:00:00 GMT", NOW) == NOW + timedelta(hours=2)
    assert parse_retry_after("9999999", NOW) == NOW + timedelta(days=7)  # capped
    assert parse_retry_after("garbage", NOW) is None
    assert cache_until("max-age=60", NOW) == NOW + timedelta(seconds=60)
    assert cache_until("no-cache, max-age=60", NOW) is None
    assert cache_until("max-age=99999999", NOW) == NOW + timedelta(days=1)  # capped


# --- redirects -------------------------------------------------------------------------------


def test_redirect_loop_cut(server: FeedServer) -> None:
    server.routes["/a"] = lambda h: send(h, 302, headers={"Location": "/b"})
    server.routes["/b"] = lambda h: send(h, 302, headers={"Location": "/a"})
    r, = run_all(fast(), [src(server, "/a")])
    assert r.error is not None and "too many redirects" in r.error
    assert len(server.paths()) <= 6  # the first request and at most 5 redirects


def test_permanent_redirect_recorded_and_followed_directly(server: FeedServer,
                                                           tmp_path: Path) -> None:
    server.routes["/old"] = lambda h: send(h, 301, headers={"Location": "/new"})
    server.routes["/new"] = lambda h: send(h, 200, simple_feed(2), headers={"ETag": '"n1"'})
    server.routes["/temp"] = lambda h: send(h, 302, headers={"Location": "/new"})
    sources = [src(server, "/old"), src(server, "/temp")]
    with Store(tmp_path / "s.sqlite3") as store:
        rs = run_all(fast(), sources, feed_states(store, sources))
        record_results(store, rs, NOW)
        assert rs[0].moved_to == server.url("/new") and len(rs[0].articles) == 2
        assert rs[1].moved_to is None  # a temporary redirect changes nothing
        row = store.feed_state(sources[0].url)
        assert row["moved_to"] == server.url("/new")
        table = format_table([health_from_row("old", sources[0].url, row, "ok")])
        assert f"moved permanently to {server.url('/new')}" in table
        before = server.paths().count("/old")
        run_all(fast(), sources, feed_states(store, sources))
        assert server.paths().count("/old") == before  # went to the new address directly


# --- size bounds ---------------------------------------------------------------------------------


def _endless(h: BaseHTTPRequestHandler, chunk: bytes, encoding: str | None = None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    if encoding:
        h.send_header("Content-Encoding", encoding)
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>')
    for _ in range(2000):  # up to 128 MB unless the client hangs up (BrokenPipeError)
        h.wfile.write(chunk)


_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MB -> ~64 KB


def test_oversize_and_gzip_bomb_cut_off_without_memory_growth(server: FeedServer) -> None:
    cap = 1024 * 1024
    server.routes["/huge"] = lambda h: _endless(h, b"x" * 65536)
    server.routes["/declared"] = lambda h: send(h, 200, b"x" * (2 * cap))
    server.routes["/bomb"] = lambda h: send(h, 200, _BOMB, headers={"Content-Encoding": "gzip"})
    server.routes["/ok"] = lambda h: send(h, 200, simple_feed(1))
    sources = [src(server, p) for p in ("/huge", "/declared", "/bomb", "/ok")]
    tracemalloc.start()
    try:
        rs = run_all(fast(max_bytes=cap, deadline=10, read_timeout=5), sources)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    huge, declared, bomb, ok = rs
    assert huge.error is not None and "larger than 1 MB" in huge.error
    assert declared.error is not None and "Content-Length" in declared.error
    assert bomb.error is not None and "after decompression" in bomb.error
    assert ok.error is None
    # the bomb inflates to 64 MB and the endless body is 128 MB; we held at most a few caps
    assert peak < 8 * cap, f"peak {peak} bytes"


# --- not a feed ---------------------------------------------------------------------------------


def test_html_page_instead_of_feed_reported_as_not_a_feed(server: FeedServer) -> None:
    page = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Hi</p></body></html>"
    server.routes["/page"] = lambda h: send(h, 200, page, "text/html")
    server.routes["/gone"] = lambda h: send(h, 404, b"nope", "text/plain")
    page_r, gone = run_all(fast(), [src(server, "/page"), src(server, "/gone")])
    assert page_r.error is not None and "not a feed" in page_r.error
    assert page_r.etag is None
    assert gone.error == "HTTP 404 Not Found" and gone.status == 404
    assert server.paths().count("/gone") == 1  # a 4xx is not retried


# --- identity and dedupe --------------------------------------------------------------------------


def test_tracking_parameters_stripped_in_identity(server: FeedServer, tmp_path: Path) -> None:
    def feed(variant: str) -> bytes:
        return rss("T", [
            {"title": "No guid, tracked link", "description": f"Body {variant}",
             "link": f"https://News.EXAMPLE.org/story?id=7&utm_source={variant}&fbclid=x{variant}"
                     f"&gclid=g{variant}"},
            {"title": "Neither guid nor link", "description": f"changes every fetch: {variant}"},
        ])

    server.routes["/v1"] = lambda h: send(h, 200, feed("one"))
    server.routes["/v2"] = lambda h: send(h, 200, feed("two"))
    first, = run_all(fast(), [FeedSource("T", server.url("/v1"))])
    a = first.articles[0]
    assert a.url == "https://news.example.org/story?id=7"
    assert a.key == "url:https://news.example.org/story?id=7"
    second, = run_all(fast(), [FeedSource("T", server.url("/v2"))])
    assert [x.key for x in second.articles] == [x.key for x in first.articles]
    with Store(tmp_path / "s.sqlite3") as store:
        up1 = store.upsert_articles(first.articles, NOW)
        later = NOW + timedelta(days=1)
        up2 = store.upsert_articles(second.articles, later)
        assert (up1.new, up2.new) == (2, 0)  # seen again, changed content: not new
        for x in second.articles:
            item = store.item(x.key)
            assert item is not None and item.first_seen == NOW  # keeps its first-seen time
            assert item.article.text == x.text  # but carries the newest text
        assert store.count_items() == 2


# --- concurrency bounds ------------------------------------------------------------------------------


def test_per_host_and_total_bounds(server: FeedServer) -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(0.15)
        send(h, 200, simple_feed(1))

    for i in range(8):
        server.routes[f"/s{i}"] = slow
    rs = run_all(fast(per_host=2), [src(server, f"/s{i}") for i in range(8)])
    assert all(r.error is None for r in rs)
    assert server.max_in_flight == 2
    with FeedServer() as other:
        for i in range(8):
            other.routes[f"/s{i}"] = slow
        run_all(fast(per_host=8, concurrency=3), [src(other, f"/s{i}") for i in range(8)])
        assert other.max_in_flight == 3


def test_parsing_in_processes_gives_the_same_articles(server: FeedServer) -> None:
    for i in range(6):
        server.routes[f"/p{i}"] = lambda h, i=i: send(h, 200, simple_feed(5, f"P{i}"))
    server.routes["/html"] = lambda h: send(h, 200, b"<html><body>x</body></html>", "text/html")
    sources = [src(server, f"/p{i}") for i in range(6)] + [src(server, "/html")]
    inline = run_all(fast(parse_workers=0), sources)
    procs = run_all(fast(parse_workers=2), sources)
    assert [r.articles for r in procs] == [r.articles for r in inline]
    assert [r.error for r in procs] == [r.error for r in inline]
    assert procs[-1].error is not None and "not a feed" in procs[-1].error


def _pool_starts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records each parser pool start: whether it came from the forkserver (other threads
    were running) rather than a fork."""
    starts: list[bool] = []
    real = procs.context

    def spy() -> Any:
        ctx = real()
        starts.append(ctx.get_start_method() == "forkserver")
        return ctx

    monkeypatch.setattr(procs, "context", spy)
    return starts


def test_parser_processes_start_only_for_a_body_to_parse(server: FeedServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def conditional(h: BaseHTTPRequestHandler, i: int) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            send(h, 304, headers={"ETag": '"v1"'})
        else:
            send(h, 200, simple_feed(3, f"C{i}"), headers={"ETag": '"v1"'})

    for i in range(4):
        server.routes[f"/c{i}"] = lambda h, i=i: conditional(h, i)
    sources = [src(server, f"/c{i}") for i in range(4)]
    starts = _pool_starts(monkeypatch)
    # no validators yet: bodies are certain, the pool starts before the fetch threads; this
    # test process runs the server in a thread, so never by a fork (see the next test)
    cold = run_all(fast(parse_workers=2), sources)
    assert starts == [True] and all(len(r.articles) == 3 for r in cold)
    # every feed has validators and answers 304: no parser process at all
    known = {r.source.url: FeedState(etag=r.etag) for r in cold}
    warm = run_all(fast(parse_workers=2), sources, known)
    assert starts == [True] and all(r.not_modified and r.error is None for r in warm)
    # validators, yet the server sends bodies: the pool starts when the first arrives,
    # from a fetch thread (a forkserver pool), and parses exactly as inline parsing does
    stale = {u: FeedState(etag='"old"') for u in known}
    procs = run_all(fast(parse_workers=2), sources, stale)
    inline = run_all(fast(parse_workers=0), sources, stale)
    assert starts == [True, True]
    assert [r.articles for r in procs] == [r.articles for r in inline]
    assert all(r.error is None and len(r.articles) == 3 for r in procs)


def test_parsers_are_forked_only_while_the_process_has_one_thread(
        server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork copies every lock as it is; one held by another thread then stays held in the
    child for good (a build hung so: the main thread was compiling the tagger's tables
    under a lock as the fetch thread forked). ``prepare`` forks from the caller's thread
    before it starts others, and ``fetch_all`` then uses those processes."""
    server.routes["/p"] = lambda h: send(h, 200, simple_feed(2, "P"), headers={"ETag": '"p"'})
    sources = [src(server, "/p")]
    starts = _pool_starts(monkeypatch)
    fetcher = fast(parse_workers=2)
    assert fetcher.prepare(sources, {u.url: FeedState(etag='"p"') for u in sources}) is False
    assert starts == []  # validators everywhere: a body is not certain, nothing started
    alone = {"threads": 1}
    monkeypatch.setattr(fetch_mod.threading, "active_count", lambda: alone["threads"])
    assert fetcher.prepare(sources) is True
    assert starts == [False]  # one thread: forked
    alone["threads"] = 3
    [r] = run_all(fetcher, sources)
    assert starts == [False] and r.error is None and len(r.articles) == 2  # used, not a second
    other = fast(parse_workers=2)
    other.prepare(sources)
    assert starts == [False, True]  # other threads running: from the forkserver
    [r] = run_all(other, sources)  # used, then shut down with the fetch
    assert r.error is None and starts == [False, True]


def test_connection_refused_is_one_feed_error(server: FeedServer) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    server.routes["/ok"] = lambda h: send(h, 200, simple_feed(1))
    dead, ok = run_all(fast(retries=1), [FeedSource("dead", f"http://127.0.0.1:{port}/f"),
                                         src(server, "/ok")])
    assert dead.error is not None and "cannot connect" in dead.error and dead.attempts == 2
    assert ok.error is None


# --- health ---------------------------------------------------------------------------------------------


def test_long_failing_feeds_for_the_footer(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        for days_ago in (10, 3, 0):
            store.record_feed(url="http://a/f", name="A", now=NOW - timedelta(days=days_ago),
                              ok=False, status=500, error="HTTP 500", items=None)
        store.record_feed(url="http://b/f", name="B", now=NOW - timedelta(days=3), ok=False,
                          status=None, error="timed out", items=None)
        store.record_feed(url="http://c/f", name="C", now=NOW - timedelta(days=20), ok=False,
                          status=None, error="timed out", items=None)
        store.record_feed(url="http://c/f", name="C", now=NOW - timedelta(days=1), ok=True,
                          status=200, error=None, items=3)
        lf = long_failing(store, NOW, days=7)
        assert [(f.feed, f.url) for f in lf] == [("A", "http://a/f")]
        assert "failing since 2026-11-13 (3 runs): HTTP 500" == lf[0].error
        assert long_failing(store, NOW, days=7, names={"http://b/f": "B"}) == []
    merged = merge_feed_errors([FeedError("A", "http://a/f", "HTTP 500"),
                                FeedError("X", "http://x/f", "timed out")],
                               lf + [FeedError("Z", "http://z/f", "failing since ...")])
    assert [m.feed for m in merged] == ["A", "X", "Z"] and merged[0].error.startswith("failing")


def test_progress_plain_lines_when_not_a_tty(server: FeedServer) -> None:
    import io

    for i in range(3):
        server.routes[f"/q{i}"] = lambda h: send(h, 200, simple_feed(1))
    server.routes["/bad"] = lambda h: send(h, 500, b"x", "text/plain")
    out = io.StringIO()
    progress = terminal_progress(out)
    assert isinstance(progress, LineProgress)
    run_all(fast(progress=progress, retries=0),
            [src(server, f"/q{i}") for i in range(3)] + [src(server, "/bad")])
    lines = out.getvalue().splitlines()
    assert lines[0] == "fetching 4 feeds"
    assert lines[-1].startswith("fetched 4/4 feeds, 1 failed in ")
    assert "\r" not in out.getvalue()


def test_new_feed_does_not_flood_the_digest_with_its_back_catalogue(server: FeedServer,
                                                                      tmp_path: Path) -> None:
    from email.utils import format_datetime

    from newsletter.select import period_ending, select_items

    def item(i: int, days_ago: int) -> dict[str, str]:
        return {"title": f"Story {i}", "guid": f"s{i}", "link": f"https://ex.org/{i}",
                "date": format_datetime(NOW - timedelta(days=days_ago))}

    server.routes["/new"] = lambda h: send(h, 200, rss("New", [item(1, 2), item(2, 12),
                                                              item(3, 30), item(4, 400)]))
    r, = run_all(fast(), [src(server, "/new")])
    period = period_ending(NOW, 7, timezone.utc)
    with Store(tmp_path / "s.sqlite3") as store:
        store.upsert_articles(r.articles, NOW)
        chosen = select_items(store.items_for_issue(period.issue, NOW), period, max_age_days=14)
    # all four are first seen now, but only those published at most 14 days before the
    # period started go in
    assert sorted(i.article.guid or "" for i in chosen) == ["s1", "s2"]


@pytest.mark.parametrize("workers", [0, 2])
def test_future_dates_are_judged_by_the_runs_clock(server: FeedServer, workers: int) -> None:
    """`--now` is the run's clock, in the parser processes too: an item dated weeks after it
    is a scheduled post (no date), whatever the machine's clock says."""
    now = datetime(2026, 1, 10, 12, tzinfo=timezone.utc)  # a build of an earlier week
    dated = [("past", datetime(2026, 1, 9, tzinfo=timezone.utc)),
             ("ahead", datetime(2026, 3, 1, tzinfo=timezone.utc)),  # before the real clock
             ("slip", now + timedelta(hours=5))]  # a time-zone slip: clamped to now
    server.routes["/dated"] = lambda h: send(h, 200, rss("Dated", [
        {"title": t, "link": f"http://example.org/{t}", "guid": t, "date": format_datetime(d)}
        for t, d in dated]))
    [r] = fast(parse_workers=workers).fetch_all([src(server, "/dated")], now=now)
    got = {a.title: a.published for a in r.articles}
    assert got == {"past": dated[0][1], "ahead": None, "slip": now}


def test_unknown_host_is_not_asked_again(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name the resolver does not know stays unknown within a run: one try, a plain error;
    a temporary resolver failure is retried like any connection error."""
    import socket

    real = socket.getaddrinfo
    calls: list[str] = []

    def resolve(host: Any, *a: Any, **k: Any) -> Any:
        if isinstance(host, str) and host.endswith(".example"):
            calls.append(host)
            code = socket.EAI_AGAIN if host.startswith("flaky") else socket.EAI_NONAME
            raise socket.gaierror(code, "resolver says no")
        return real(host, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    server.routes["/ok"] = lambda h: send(h, 200, simple_feed(1))
    gone, flaky, ok = run_all(fast(retries=2), [
        FeedSource("gone", "http://gone.example/feed"),
        FeedSource("flaky", "http://flaky.example/feed"), src(server, "/ok")])
    assert gone.error == "cannot connect: unknown host gone.example" and gone.attempts == 1
    assert flaky.attempts == 3 and "cannot connect" in (flaky.error or "")
    assert calls.count("gone.example") == 1 and calls.count("flaky.example") == 3
    assert ok.error is None
