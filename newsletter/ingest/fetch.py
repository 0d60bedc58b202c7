"""Fetch feed documents over HTTP: concurrent, conditional, bounded (issue 3).

Network I/O lives here and nowhere else; the pipeline receives ``FeedResult``
values and records them in the store. What the fetcher does, and why:

- **Concurrency with bounds**: ``concurrency`` worker threads (default 16) take
  feeds from one queue, and never more than ``per_host`` (default 2) of them talk
  to the same host, so one slow or dead feed costs one deadline, not the run, and
  no server sees a burst from us.
- **Parsing off the fetch path**: a fetched body goes to a pool of parser
  *processes* (one per core, default 2) and the thread goes on fetching. feedparser
  is pure Python, so threads would serialise on the GIL; see
  ``benchmarks/bench_fetch.py`` for the measurement. The pool starts with the first
  body to parse: a run where every feed answers 304 starts no process at all.
- **Conditional requests** (RFC 9110 13.1): the stored ETag and Last-Modified go
  back as ``If-None-Match``/``If-Modified-Since``; a 304 is parsed not at all.
  ``Cache-Control: max-age``, ``Retry-After`` and 429 set a time before which the
  feed is not asked again (``FeedResult.retry_after``).
- **Bounds**: connect and read timeouts, a total deadline per feed (checked
  between reads, so it can be overshot by at most one read timeout), a size cap
  checked while streaming on both the wire bytes and the decompressed bytes (we
  decompress ourselves with ``max_length``, so a gzip bomb never inflates past the
  cap), at most ``max_redirects`` redirects, and at most ``retries`` more tries
  with exponential backoff for timeouts, connection errors and 5xx.
- **Permanent redirects** (301, 308) are reported in ``moved_to``; the store
  keeps it and later runs fetch the new address directly.

Heavy imports (httpx, the process pool) happen inside ``fetch_all`` so that
``newsletter --help`` stays fast; the pool itself only when a body needs parsing.
"""

from __future__ import annotations

import email.utils
import logging
import random
import sys
import threading
import time
import zlib
from collections import deque
from contextlib import contextmanager
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Protocol, Sequence
from urllib.parse import urlsplit

from .. import __version__
from ..exceptions import FeedFetchError
from ..types import Article
from .feeds import FeedSource, parse_feed

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/newsletter-privacy/newsletter"
USER_AGENT = f"newsletter/{__version__} (+{PROJECT_URL})"
MAX_BYTES = 10 * 1024 * 1024
# A server may ask us to stay away, but not silence a feed for good: caps on how far
# ahead Cache-Control max-age and Retry-After can push the next fetch.
MAX_CACHE_AGE = timedelta(days=1)
MAX_RETRY_AFTER = timedelta(days=7)
DEFAULT_429_WAIT = timedelta(hours=1)  # a 429 without Retry-After
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_PERMANENT = frozenset({301, 308})


@dataclass(frozen=True)
class FetchLimits:
    """Every bound of a fetch run; tests pass short ones."""

    concurrency: int = 16  # feeds in flight at once
    per_host: int = 2  # feeds in flight against one host
    connect_timeout: float = 10.0  # seconds to open a connection
    read_timeout: float = 20.0  # seconds of silence allowed between two reads
    deadline: float = 60.0  # seconds for one feed, retries and backoff included
    max_bytes: int = MAX_BYTES  # cap on the body, on the wire and after decompression
    max_redirects: int = 5
    retries: int = 2  # more tries after a timeout, connection error or 5xx
    backoff: float = 1.0  # seconds before the first retry; doubled each time, with jitter
    parse_workers: int = 2  # parser processes; 0 parses in the fetching thread


class Annotator(Protocol):
    """Work on a feed's articles done where the feed is parsed (the build tags there), so it
    overlaps the network and uses every core; picklable and pure, its output picklable."""

    def __call__(self, articles: Sequence[Article]) -> dict[str, Any]: ...

    def warm_up(self) -> None: ...


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about a feed that shapes the next request."""

    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # a permanent redirect seen earlier: fetch this instead
    retry_after: datetime | None = None  # do not ask before this time


@dataclass(frozen=True)
class FeedResult:
    """The outcome of fetching one feed in one run."""

    source: FeedSource
    articles: tuple[Article, ...] = ()
    error: str | None = None  # one line for a human, None on success
    status: int | None = None  # HTTP status of the final response
    not_modified: bool = False  # a 304: nothing new, nothing parsed
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None  # after redirects
    moved_to: str | None = None  # target of a permanent redirect (301/308) seen in this run
    retry_after: datetime | None = None  # not to be fetched before this time (None: any time)
    skipped: bool = False  # not fetched in this run: not due yet (see ``retry_after``)
    attempts: int = 0  # HTTP requests made, retries included
    seconds: float = 0.0  # wall time spent on this feed (fetch and parse)
    annotations: Mapping[str, Any] = field(default_factory=dict)  # the Annotator's output
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


class Fetcher(Protocol):
    """Fetches a list of feeds; one feed's failure is a ``FeedResult.error``, never a raise."""

    def fetch_all(self, sources: Sequence[FeedSource],
                  states: Mapping[str, FeedState] | None = None, *,
                  now: datetime | None = None) -> list[FeedResult]: ...


class FetchProgress(Protocol):
    """Told about each finished feed; called from several threads (see ``newsletter.progress``)."""

    def start(self, total: int) -> None: ...

    def advance(self, result: FeedResult) -> None: ...

    def close(self) -> None: ...


# --- small pure helpers ---------------------------------------------------------------


def host_of(url: str) -> str:
    """The per-host bound's key: host and port, lower-cased."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return url


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` as an absolute time: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + min(timedelta(seconds=int(value)), MAX_RETRY_AFTER)
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return min(dt, now + MAX_RETRY_AFTER) if dt > now else None


def cache_until(cache_control: str | None, now: datetime) -> datetime | None:
    """When a response stops being fresh per ``Cache-Control: max-age`` (capped), or None."""
    if not cache_control:
        return None
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if any(d in ("no-cache", "no-store") for d in directives):
        return None
    for d in directives:
        if d.startswith("max-age="):
            try:
                age = int(d.split("=", 1)[1].strip('" '))
            except ValueError:
                return None
            return now + min(timedelta(seconds=age), MAX_CACHE_AGE) if age > 0 else None
    return None


def conditional_headers(state: FeedState) -> dict[str, str]:
    h: dict[str, str] = {}
    if state.etag:
        h["If-None-Match"] = state.etag
    if state.last_modified:
        h["If-Modified-Since"] = state.last_modified
    return h


class BodyTooLarge(Exception):
    pass


class _Decoder:
    """Content-Encoding decoding with a bound on the output (a gzip bomb stops at the cap)."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        enc = encoding.strip().lower()
        self.kind = enc if enc in ("gzip", "x-gzip", "deflate") else "identity"
        self._z: Any = None
        self._first = True
        if self.kind in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _take(self, out: bytes) -> bytes:
        self.size += len(out)
        if self.size > self.limit:
            raise BodyTooLarge()
        return out

    def feed(self, data: bytes) -> list[bytes]:
        if self.kind == "identity":
            return [self._take(data)]
        if self._z is None:  # deflate: zlib-wrapped per the RFC, raw in practice too
            wbits = zlib.MAX_WBITS if data[:1] and (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
            self._z = zlib.decompressobj(wbits)
        out: list[bytes] = []
        while data:
            room = self.limit - self.size + 1
            chunk = self._z.decompress(data, room)
            out.append(self._take(chunk))
            data = self._z.unconsumed_tail
            if not data and self._z.eof and self._z.unused_data and self.kind != "deflate":
                # a multi-member gzip stream: start the next member
                data = self._z.unused_data
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return out

    def flush(self) -> list[bytes]:
        if self._z is None:
            return []
        return [self._take(self._z.flush())]


_Parsed = tuple[tuple[Article, ...], str | None, dict[str, Any]]


def _parse_job(body: bytes, source: FeedSource, base_url: str, headers: dict[str, str],
               annotate: Annotator | None = None, now: datetime | None = None) -> _Parsed:
    """Runs in a parser process: articles (and their annotations), or the one-line error.

    Never raises. An annotator failure costs the annotations (the caller does that work
    itself), never the feed.
    """
    try:
        # the run's clock (``--now``) bounds future dates, not the machine's
        arts = tuple(parse_feed(body, source, base_url=base_url, headers=headers, now=now))
    except FeedFetchError as e:
        return (), e.detail, {}
    except Exception as e:  # a parser bug on hostile input must cost one feed, not the run
        return (), f"cannot parse the feed: {type(e).__name__}: {e}"[:300], {}
    notes: dict[str, Any] = {}
    if annotate is not None and arts:
        try:
            notes = annotate(arts)
        except Exception:
            log.debug("annotating %s failed", source.url, exc_info=True)
    return arts, None, notes


def _warm_up(annotate: Annotator | None = None) -> None:
    """Import the parser stack (and ready the annotator) in a worker while the first
    requests are in flight."""
    import feedparser  # noqa: F401

    if annotate is not None:
        annotate.warm_up()


def _parse_pool(workers: int) -> Any:
    """A process pool for parsing, its workers started as ``procs.context`` says (forked
    while this process has one thread, else from the forkserver); each ends with the
    build (``procs.die_with_parent``)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from ..procs import context, die_with_parent

    return ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent,
                               initargs=(os.getpid(),),
                               mp_context=context())


class _LazyPool:
    """The parser pool, warmed as it starts (each worker readies the parser and annotator).

    Started before the fetch threads (``start``) when some feed will need parsing (no
    validators to send: new or never fetched); else (every feed may answer 304, as on a
    warm run) only when a fetch thread gets the first body to parse, so a run that gets
    only 304s starts no process at all.
    """

    def __init__(self, workers: int, annotate: Annotator | None) -> None:
        self.workers = workers
        self.annotate = annotate
        self.pool: Any = None
        self.failed = False  # no processes here (sandbox, limits): parse in the threads
        self._lock = threading.Lock()

    def start(self) -> None:
        """Before the fetch threads exist: a forked pool if this is the process's only
        thread, else one from the forkserver (see ``_parse_pool``)."""
        self.get()

    def get(self) -> Any:
        """The pool, started on first use; None when processes cannot be had."""
        with self._lock:
            if self.pool is None and not self.failed:
                try:
                    self.pool = _parse_pool(self.workers)
                    for _ in range(self.workers):
                        self.pool.submit(_warm_up, self.annotate)
                except Exception as e:
                    log.warning("no parser processes (%s); parsing in the fetch threads", e)
                    self.failed = True
                    if self.pool is not None:
                        self.pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = None
            return self.pool


@contextmanager
def _without_trio() -> Iterator[None]:
    """Keep trio out of httpcore's import: httpcore imports it when it is installed (the
    browser tests' selenium brings it), only for its async trio backend, which this sync
    client never uses; the import alone is a tenth of a second of a warm build.
    Where trio is already imported, nothing changes."""
    if "trio" in sys.modules:
        yield
        return
    sys.modules["trio"] = None  # type: ignore[assignment]  # import trio: ImportError
    try:
        yield
    finally:
        if "trio" in sys.modules and sys.modules["trio"] is None:
            del sys.modules["trio"]


# --- the fetcher ----------------------------------------------------------------------


@dataclass
class _Job:
    index: int
    source: FeedSource
    state: FeedState
    url: str  # what to request: the config's URL, or where it moved to

    @property
    def host(self) -> str:
        return host_of(self.url)


class _HostQueue:
    """Hands out jobs so that at most ``per_host`` of one host are in flight."""

    def __init__(self, jobs: Sequence[_Job], per_host: int) -> None:
        self.pending: deque[_Job] = deque(jobs)
        self.active: dict[str, int] = {}
        self.per_host = max(1, per_host)
        self.cond = threading.Condition()

    def take(self) -> _Job | None:
        with self.cond:
            while self.pending:
                for i, job in enumerate(self.pending):
                    if self.active.get(job.host, 0) < self.per_host:
                        del self.pending[i]
                        self.active[job.host] = self.active.get(job.host, 0) + 1
                        return job
                self.cond.wait()
            return None

    def done(self, job: _Job) -> None:
        with self.cond:
            self.active[job.host] -= 1
            self.cond.notify_all()


@dataclass(frozen=True)
class _Download:
    """One feed's HTTP outcome before parsing."""

    status: int | None = None
    body: bytes | None = None  # None: nothing to parse (304 or error)
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None
    moved_to: str | None = None
    error: str | None = None
    retry_after: datetime | None = None
    attempts: int = 0


class HttpFetcher:
    """Concurrent, conditional, bounded fetching; see the module docstring."""

    def __init__(self, limits: FetchLimits | None = None, *, progress: FetchProgress | None = None,
                 user_agent: str = USER_AGENT, clock: Callable[[], datetime] | None = None,
                 honour_retry_after: bool = True, annotate: Annotator | None = None,
                 **overrides: Any) -> None:
        base = limits or FetchLimits()
        self.limits = replace(base, **overrides) if overrides else base
        self.progress = progress
        self.user_agent = user_agent
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.honour_retry_after = honour_retry_after  # False: `feeds check --force`
        self.annotate = annotate  # run on each feed's articles where it is parsed
        self._prepared: _LazyPool | None = None  # parser processes started by ``prepare``

    # The public entry point ------------------------------------------------------------

    def fetch_all(self, sources: Sequence[FeedSource],
                  states: Mapping[str, FeedState] | None = None, *,
                  now: datetime | None = None) -> list[FeedResult]:
        """One ``FeedResult`` per source, in the sources' order; never raises for one feed."""
        import httpx

        now = now or self.clock()
        results, jobs = self._jobs(sources, states or {}, now)
        lim = self.limits
        lazy, self._prepared = self._prepared, None
        if lazy is None and lim.parse_workers > 0:
            lazy = self._parsers(start=_bodies_certain(jobs))
        if self.progress:
            self.progress.start(len(sources))
            for r0 in results:
                if r0 is not None:
                    self._advance(r0)
        pending: list[Future[Any]] = []
        lock = threading.Lock()
        queue = _HostQueue(jobs, lim.per_host)
        timeout = httpx.Timeout(lim.read_timeout, connect=lim.connect_timeout)
        with _without_trio():  # the client's transport imports httpcore
            client = httpx.Client(
                timeout=timeout, follow_redirects=True, max_redirects=lim.max_redirects,
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate",
                         "Accept": "application/atom+xml, application/rss+xml, application/rdf+xml,"
                                   " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
                limits=httpx.Limits(max_connections=max(lim.concurrency, 1) * 2,
                                    max_keepalive_connections=max(lim.concurrency, 1)))

        def finish(job: _Job, r: FeedResult, started: float) -> None:
            r = replace(r, seconds=time.monotonic() - started)
            with lock:
                results[job.index] = r
            self._advance(r)

        def worker() -> None:
            while True:
                job = queue.take()
                if job is None:
                    return
                started = time.monotonic()
                try:
                    dl = self._download(client, job, now)
                except Exception as e:  # a bug here must cost one feed, not the run
                    log.exception("fetching %s failed", job.url)
                    dl = _Download(error=f"internal error: {type(e).__name__}: {e}")
                finally:
                    queue.done(job)
                r = FeedResult(job.source, error=dl.error, status=dl.status,
                               not_modified=dl.status == 304, final_url=dl.final_url,
                               moved_to=dl.moved_to, retry_after=dl.retry_after,
                               attempts=dl.attempts,
                               etag=dl.headers.get("etag") if dl.error is None else None,
                               last_modified=(dl.headers.get("last-modified")
                                              if dl.error is None else None))
                if dl.body is None:
                    finish(job, r, started)
                    continue
                base = dl.final_url or job.url
                pool = lazy.get() if lazy is not None else None
                if pool is None:
                    parsed = _parse_job(dl.body, job.source, base, dl.headers, self.annotate, now)
                    finish(job, self._parsed(r, parsed), started)
                    continue
                try:
                    fut = pool.submit(_parse_job, dl.body, job.source, base, dl.headers,
                                      self.annotate, now)
                except Exception:  # BrokenProcessPool: a worker died; parse here instead
                    parsed = _parse_job(dl.body, job.source, base, dl.headers, self.annotate, now)
                    finish(job, self._parsed(r, parsed), started)
                    continue
                fut.add_done_callback(
                    lambda f, job=job, r=r, started=started: finish(
                        job, self._from_future(r, f), started))
                with lock:
                    pending.append(fut)

        threads = [threading.Thread(target=worker, name=f"fetch-{n}", daemon=True)
                   for n in range(min(lim.concurrency, len(jobs)))]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            client.close()
            if pending:
                from concurrent.futures import wait

                wait(list(pending))
        finally:
            if lazy is not None and lazy.pool is not None:
                lazy.pool.shutdown(wait=True, cancel_futures=True)
            if self.progress:
                self.progress.close()
        return [r if r is not None else FeedResult(src, error="internal error: not fetched")
                for r, src in zip(results, sources)]

    def prepare(self, sources: Sequence[FeedSource],
                states: Mapping[str, FeedState] | None = None, *,
                now: datetime | None = None) -> bool:
        """Start the parser processes now, from the calling thread, if ``fetch_all`` of these
        sources will need them; for a caller that starts other threads before it calls
        ``fetch_all`` (the build receives its read-ahead in one). Returns whether some feed
        will surely send a body (it has no validators to send back): the caller then has
        that body's work ahead of it.

        Forking is safe only while the process has one thread: a lock another thread
        holds at that moment stays held in the child for good (a build hung when the
        main thread was compiling the tagger's tables, lazily and under a lock, just as
        the fetch thread forked the parsers). So ``fetch_all`` forks only when it runs
        alone; otherwise its parsers come from the forkserver, which costs a fresh
        interpreter: this method keeps the cheap fork for such callers.
        """
        _, jobs = self._jobs(sources, states or {}, now or self.clock())
        certain = _bodies_certain(jobs)
        if certain and self.limits.parse_workers > 0 and self._prepared is None:
            self._prepared = self._parsers(start=True)
        return certain

    # Pieces ----------------------------------------------------------------------------

    def _parsers(self, *, start: bool) -> _LazyPool:
        """The parser pool, started at once with ``start`` (a feed without validators will
        send a body: ``_bodies_certain``); else on the first body (see ``_LazyPool``)."""
        pool = _LazyPool(self.limits.parse_workers, self.annotate)
        if start:
            pool.start()
        return pool

    def _jobs(self, sources: Sequence[FeedSource], states: Mapping[str, FeedState],
              now: datetime) -> tuple[list[FeedResult | None], list[_Job]]:
        """The feeds to fetch, and a result already for those not due yet (Retry-After)."""
        results: list[FeedResult | None] = [None] * len(sources)
        jobs: list[_Job] = []
        for i, src in enumerate(sources):
            st = states.get(src.url) or FeedState()
            if self.honour_retry_after and st.retry_after and st.retry_after > now:
                results[i] = FeedResult(src, skipped=True, retry_after=st.retry_after,
                                        etag=st.etag, last_modified=st.last_modified)
                continue
            jobs.append(_Job(i, src, st, st.moved_to or src.url))
        return results, jobs

    def _advance(self, r: FeedResult) -> None:
        if self.progress:
            try:
                self.progress.advance(r)
            except Exception:  # a display problem never fails a fetch
                log.debug("progress display failed", exc_info=True)

    def _parsed(self, r: FeedResult, parsed: _Parsed) -> FeedResult:
        arts, err, notes = parsed
        if err is not None:
            return replace(r, error=err, etag=None, last_modified=None)
        return replace(r, articles=arts, annotations=notes)

    def _from_future(self, r: FeedResult, fut: "Future[Any]") -> FeedResult:
        try:
            parsed = fut.result()
        except Exception as e:  # the worker died (BrokenProcessPool), or pickling failed
            return replace(r, error=f"the parser process failed: {type(e).__name__}: {e}"[:300],
                           etag=None, last_modified=None)
        return self._parsed(r, parsed)

    def _download(self, client: "httpx.Client", job: _Job, now: datetime) -> _Download:
        """GET with retries and backoff inside the feed's deadline."""
        import httpx

        lim = self.limits
        t0 = time.monotonic()
        end = t0 + lim.deadline
        attempt = 0
        last: _Download = _Download(error="not fetched")
        while True:
            attempt += 1
            remaining = end - time.monotonic()
            if remaining <= 0:
                return replace(last, error=f"deadline of {lim.deadline:g} s exceeded"
                               f" ({attempt - 1} tries)", attempts=attempt - 1)
            try:
                last = self._attempt(client, job, now, end, remaining)
                retry = last.status in _RETRY_STATUS
            except httpx.TooManyRedirects:
                return _Download(error=f"too many redirects (more than {lim.max_redirects})",
                                 attempts=attempt)
            except (httpx.TimeoutException, _Deadline) as e:
                kind = "deadline" if isinstance(e, _Deadline) else "timed out"
                msg = (f"deadline of {lim.deadline:g} s exceeded" if kind == "deadline"
                       else f"timed out ({_timeout_kind(e)})")
                last = _Download(error=msg)
                retry = kind != "deadline"
            except httpx.TransportError as e:
                if _unknown_host(e):  # the name does not exist: asking again gives the same
                    return _Download(error=f"cannot connect: unknown host "
                                           f"{urlsplit(job.url).hostname}", attempts=attempt)
                last = _Download(error=f"cannot connect: {_transport_message(e)}")
                retry = True
            except httpx.HTTPError as e:  # invalid URL, decoding, protocol errors
                return _Download(error=f"{type(e).__name__}: {e}".strip(": "), attempts=attempt)
            last = replace(last, attempts=attempt)
            if not retry or attempt > lim.retries:
                if retry and attempt > 1:
                    last = replace(last, error=f"{last.error} (after {attempt} tries)")
                return last
            delay = lim.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
            if time.monotonic() + delay >= end:
                return replace(last, error=f"{last.error} (after {attempt} tries; "
                               f"no time left for more)")
            time.sleep(delay)

    def _attempt(self, client: "httpx.Client", job: _Job, now: datetime, end: float,
                 remaining: float) -> _Download:
        import httpx

        lim = self.limits
        timeout = httpx.Timeout(min(lim.read_timeout, remaining),
                                connect=min(lim.connect_timeout, remaining))
        headers = conditional_headers(job.state)
        with client.stream("GET", job.url, headers=headers, timeout=timeout) as resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            final = str(resp.url)
            moved = _permanent_target(resp, job.url)
            status = resp.status_code
            base = _Download(status=status, headers=hdrs, final_url=final, moved_to=moved)
            if status == 304:
                return replace(base, retry_after=cache_until(hdrs.get("cache-control"), now))
            if status == 429:
                due = parse_retry_after(hdrs.get("retry-after"), now) or now + DEFAULT_429_WAIT
                return replace(base, retry_after=due,
                               error=f"rate limited (HTTP 429): not due before "
                                     f"{due.isoformat(timespec='minutes')}")
            if status >= 400:
                reason = resp.reason_phrase or ""
                return replace(base, error=f"HTTP {status} {reason}".strip(),
                               retry_after=(parse_retry_after(hdrs.get("retry-after"), now)
                                            if status == 503 else None))
            if status >= 300:  # a redirect without a Location, or 300 Multiple Choices
                return replace(base, error=f"HTTP {status}: redirect without a usable Location")
            try:
                body = self._read_body(resp, hdrs, end)
            except _BodyError as e:
                return replace(base, error=str(e))
            return replace(base, body=body, retry_after=cache_until(hdrs.get("cache-control"), now))

    def _read_body(self, resp: "httpx.Response", hdrs: Mapping[str, str], end: float) -> bytes:
        """The decoded body, streamed: raises before holding more than ``max_bytes``."""
        cap = self.limits.max_bytes
        declared = hdrs.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _TooLarge(f"response larger than {_mb(cap)} (Content-Length {declared})")
        dec = _Decoder(hdrs.get("content-encoding", ""), cap)
        chunks: list[bytes] = []
        wire = 0
        try:
            for raw in resp.iter_raw():  # no chunk_size: it would buffer a trickle
                wire += len(raw)
                if wire > cap:
                    raise _TooLarge(f"response larger than {_mb(cap)}")
                chunks.extend(dec.feed(raw))
                if time.monotonic() > end:
                    raise _Deadline()
            chunks.extend(dec.flush())
        except BodyTooLarge:
            raise _TooLarge(f"response larger than {_mb(cap)} after decompression") from None
        except zlib.error as e:
            raise _BadBody(f"cannot decompress the response ({dec.kind}): {e}") from None
        return b"".join(chunks)


def _bodies_certain(jobs: Sequence[_Job]) -> bool:
    """Whether a job has no validators to send: its feed answers with a body, not a 304."""
    return any(not conditional_headers(j.state) for j in jobs)


class _Deadline(Exception):
    """The feed's total deadline passed while reading."""


def _timeout_kind(e: Exception) -> str:
    import httpx

    if isinstance(e, httpx.ConnectTimeout):
        return "connect"
    if isinstance(e, httpx.ReadTimeout):
        return "no data"
    return type(e).__name__


def _unknown_host(e: BaseException) -> bool:
    """The resolver said the name does not exist (not a timeout or a temporary failure)."""
    import socket

    permanent = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, socket.gaierror) and cur.errno in permanent:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _transport_message(e: Exception) -> str:
    msg = str(e) or type(e).__name__
    return msg.splitlines()[0][:200]


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _permanent_target(resp: "httpx.Response", requested: str) -> str | None:
    """Where the leading run of permanent redirects (301/308) points, if any."""
    target = None
    for hop in resp.history:
        if hop.status_code not in _PERMANENT:
            break
        loc = hop.headers.get("location")
        if not loc:
            break
        target = str(hop.url.join(loc))
    if target == requested:
        return None
    return target


class _BodyError(Exception):
    """The body broke a bound (size) or cannot be decoded; not retried."""


class _TooLarge(_BodyError):
    pass


class _BadBody(_BodyError):
    pass

