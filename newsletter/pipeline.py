"""The build pipeline: the one function that wires the stages together.

ingest (seeds, feeds) -> store (first seen) -> select (this issue's items) ->
tag + watchlist -> assemble (merge, summarise, rank, sections) -> render -> write
-> record the issue. Every decision lives in a pure stage; this module only
moves data between them and owns the order of the side effects: the issue is
recorded in the store only after all its files are written, so a crash at any
point leaves either the old state or the new one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from . import collector
from .config import Config
from .digest import DigestSettings, assemble, with_run
from .ingest.feeds import FeedSource
from .ingest.fetch import Fetcher, FeedResult, FetchProgress
from .ingest.seeds import read_seeds
from .lock import run_lock
from .render import render_digest, write_issue
from .sanitize import plain_line
from .select import Period, oldest_published, period_ending, select_items
from .store import IssueRecord, Store
from .types import Article, Digest, DigestCounts, FeedError, Item, Rendered, TaggedItem

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from .cache import TagCache
    from .cluster import PackedFeatures
    from .tag import Tagger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What a build did: the files, the digest, and the numbers for the summary line."""

    rendered: Rendered
    digest: Digest
    counts: DigestCounts
    feed_errors: tuple[FeedError, ...]


def feed_sources(config: Config) -> list[FeedSource]:
    cap = config.settings.max_items_per_feed
    return [FeedSource(name=f.name, url=f.url, language=f.language, max_items=cap)
            for f in config.feeds]


def default_fetcher(progress: FetchProgress | None = None) -> Fetcher:
    """The concurrent, conditional HTTP fetcher (issue 3); ``progress`` sees each feed finish."""
    from .ingest.fetch import HttpFetcher

    return HttpFetcher(progress=progress)


def load_intro(config: Config) -> str | None:
    p = config.intro_path
    if p is None:
        return None
    from .exceptions import ConfigError

    try:
        return p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the intro file {p}: {e.strerror or e}",
                          path=str(config.path), field="newsletter.intro") from None


def fetch_feeds(config: Config, store: Store, now: datetime, fetcher: Fetcher
                ) -> list[FeedResult]:
    """Fetch every configured feed; never raises for one feed.

    The stored validators (ETag, Last-Modified), permanent redirects and due times
    go into the requests; feeds not due yet come back ``skipped``. Health is not
    recorded here: the caller records it with ``health.record_results`` only after it
    stored the items, since new validators stored first would make a crash in between
    lose the items for good (the next run gets a 304).
    """
    from .health import feed_states

    sources = feed_sources(config)
    return fetcher.fetch_all(sources, feed_states(store, sources), now=now)


def tag_items(items: Sequence[Item], config: Config,
              cache: TagCache | None = None) -> tuple[list[TaggedItem], Tagger]:
    """Tags and watchlist hits per item; with ``cache``, an item whose text was tagged
    before under the same taxonomy, topics and watchlist is not tagged again."""
    from .cache import tag_fingerprint, tag_key, tag_tools

    topics, watchlist = config.model.topics, config.model.watchlist
    tagger, watch = tag_tools(topics, watchlist, cache.fingerprint if cache is not None
                              else tag_fingerprint(topics, watchlist))
    keys = [tag_key(it.article) for it in items] if cache is not None else []
    hits = cache.get_many(keys) if cache is not None else {}
    tagged = []
    for n, it in enumerate(items):
        a = it.article
        hit = hits.get(keys[n]) if cache is not None else None
        if hit is not None:
            tagged.append(TaggedItem(item=it, tags=hit[0], watchlist=hit[1]))
            continue
        t = TaggedItem(item=it, tags=tagger.tag(a.title, a.text, a.language),
                       watchlist=watch.match(a.title, a.text))
        if cache is not None:
            cache.put(keys[n], t.tags, t.watchlist)
        tagged.append(t)
    if log.isEnabledFor(logging.DEBUG):  # the arguments cost a dict per item of the week
        for t in tagged:
            log.debug("tagged %s %r: %s %s", t.item.key, t.article.title[:60],
                      ",".join(t.tags.topics) or "-", dict(t.tags.evidence))
    return tagged, tagger


def _assemble(config: Config, store: Store, tagged: Sequence[TaggedItem], tagger: Tagger,
              period: Period, now: datetime, errors: Sequence[FeedError],
              counts: DigestCounts,
              known: Mapping[str, PackedFeatures] | None = None) -> Digest:
    from .cache import GroupCache
    from .rank import RankWeights

    settings = config.settings
    ranking = config.model.ranking
    return assemble(
        tagged, period=period,
        settings=DigestSettings(title=settings.title, max_stories=settings.max_stories,
                                top_stories=ranking.top_stories,
                                prefer_language=settings.language),
        topic_order=tagger.topic_ids, topic_labels=tagger.labels,
        topic_weights=tagger.weights,
        rank_weights=RankWeights(**{k: v for k, v in ranking.model_dump().items()
                                    if k in RankWeights.__dataclass_fields__}),
        now=now, feed_errors=errors, counts=counts,
        intro_markdown=load_intro(config), group_cache=GroupCache(store, now),
        known_features=known)


def _warm_up(config: Config, tag_fp: str) -> None:
    """Ready what the build needs once the feeds are in, while they are fetched: the
    tagger, the merge lexicon, the summariser's rules, the templates and the modules
    behind them. The fetch mostly waits on the network and the parser processes, so this
    saves ~0.1 s after it (each later use is a cache hit). Only when some feed surely
    sends a body: on a run where every feed may answer 304, the read-ahead makes the
    issue, and this thread would only take the fetch threads' turns at the interpreter
    (0.06 s of a warm build). A failure is left for the build's own use to report."""
    try:
        from . import email_message, rank  # noqa: F401
        from .archive import ARCHIVE_TEMPLATE
        from .cache import tag_tools
        from .cluster import load_lexicon
        from .render import warm_templates
        from .summarize import load_rules

        tag_tools(config.model.topics, config.model.watchlist, tag_fp)
        load_lexicon()
        load_rules()
        warm_templates(config.templates_dir, ARCHIVE_TEMPLATE)
    except Exception:
        log.debug("warming up while fetching failed", exc_info=True)


@dataclass
class _Early:
    """What the read-ahead found in the store while the feeds were fetched."""

    keys: list[str]  # the issue's items
    tags_used: set[str]  # for the build's TagCache: tags asked for, and tags made
    tags_new: dict[str, str]
    digest: Digest | None = None  # assembled as if no feed brought anything or failed
    docs: dict[str, str] | None = None  # ``digest`` rendered


def _read_ahead(config: Config, period: Period, now: datetime, tag_fp: str,
                seeds: int) -> _Early | None:
    """Read and tag (from the cache) the issue's stored items, and, when their merge groups
    are cached, assemble and render the issue. Reads the store, never writes it."""
    from .cache import GroupCache, TagCache
    from .cluster import MergeParams, groups_fingerprint

    with Store(config.state_path) as store:
        items = select_items(store.items_for_issue(period.issue, now), period,
                             config.settings.max_age_days)
        if not items:
            return None
        cache = TagCache(store, tag_fp)
        tagged, tagger = tag_items(items, config, cache)
        early = _Early([it.key for it in items], cache.used, cache.new)
        relevant = [t for t in tagged if t.tags.topics]
        # only with the groups cached: merging anew could be seconds of lost work
        if GroupCache(store, now).get(groups_fingerprint(relevant, MergeParams())) is not None:
            early.digest = _assemble(
                config, store, tagged, tagger, period, now, (),
                DigestCounts(items_seen=seeds, items_new=0, feeds_total=len(config.feeds)))
            early.docs = render_digest(early.digest, tz=config.tz,
                                       templates_dir=config.templates_dir)
        return early


def _read_ahead_main(out: Connection, build: int, *args: Any) -> None:
    """The read-ahead process: one result (or None) down the pipe. A failure here is left
    for the build's own pass to report. Niced: on a run where feeds bring news the
    parser processes need the cores, and this work is thrown away."""
    from .procs import die_with_parent

    die_with_parent(build)
    with contextlib.suppress(OSError):
        os.nice(10)
    try:
        result = _read_ahead(*args)
    except Exception:
        log.debug("reading ahead while fetching failed", exc_info=True)
        result = None
    out.send(result)
    out.close()


class _ReadAhead:
    """``_read_ahead`` in a process of its own, started before the fetch.

    The fetch waits on the network and the parser processes; the read-ahead needs a core,
    and in a thread it would contend with the fetch threads for the GIL. When no feed
    brings anything new (a warm build, every feed 304), the issue is ready when the
    network is done. The build uses it only if the store did not change in between
    (``UpsertResult``: nothing new, nothing changed); else it stops the process and does
    the work itself.
    """

    def __init__(self, config: Config, period: Period, now: datetime, tag_fp: str,
                 seeds: int) -> None:
        from .procs import context

        self._early: _Early | None = None
        self._thread: threading.Thread | None = None
        ctx = context()
        self._pipe, out = ctx.Pipe(duplex=False)
        self._proc: Any = ctx.Process(
            target=_read_ahead_main, name="newsletter-read-ahead", daemon=True,
            args=(out, os.getpid(), config, period, now, tag_fp, seeds))
        try:
            self._proc.start()
        except Exception as e:  # no processes here (sandbox, limits): the build does it all
            log.debug("no read-ahead process: %s", e)
            self._proc = None
        out.close()  # the child's end: EOF here if the child dies without a word

    def listen(self) -> None:
        """Take the result in a thread as soon as it comes, so that unpickling it overlaps
        the fetch. Started after the parser processes are forked (see procs.context)."""
        if self._proc is not None:
            self._thread = threading.Thread(target=self._receive, name="read-ahead",
                                            daemon=True)
            self._thread.start()

    def _receive(self) -> None:
        try:
            self._early = self._pipe.recv()
        except (EOFError, OSError):  # died, or stopped
            self._early = None

    def result(self, wait: float = 300.0) -> _Early | None:
        """The read-ahead's result (after ``listen``): None if it found nothing, failed, or is
        not done within ``wait`` seconds (a stuck process must not hold up the build: it
        does the work)."""
        if self._thread is not None:
            self._thread.join(wait)
        self.stop()
        return self._early

    def stop(self) -> None:
        """End the read-ahead now if its result is not in (it is not wanted)."""
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join()  # a receiving thread gets EOF now
            self._proc = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._pipe.close()


def build(config: Config, *, now: datetime, out_dir: Path | None = None, offline: bool = False,
          fetcher: Fetcher | None = None, lock_wait: float = 60.0, lock: bool = True,
          on_feed_error: Callable[[FeedError], None] | None = None) -> BuildReport:
    """Build the issue of the period that ends at ``now`` and write its four files."""
    settings = config.settings
    out = out_dir if out_dir is not None else config.output_dir
    # lock=False: the caller (`run`) already holds the run lock across build and send.
    held = run_lock(config.state_path, wait=lock_wait) if lock else contextlib.nullcontext()
    with held, collector.paused(), Store(config.state_path) as store:
        articles: list[Article] = list(read_seeds(config.seeds_dir))
        log.info("%d seeds read from %s", len(articles), config.seeds_dir)
        errors: list[FeedError] = []
        results: list[FeedResult] = []
        from .cache import TagAnnotator, TagCache, tag_fingerprint

        tag_fp = tag_fingerprint(config.model.topics, config.model.watchlist)
        tag_cache = TagCache(store, tag_fp)
        period = period_ending(now, settings.period_days, config.tz)
        reader: _ReadAhead | None = None
        known: dict[str, PackedFeatures] = {}  # merge features made by the parser processes
        try:
            if not offline and config.feeds:
                from .health import feed_states

                fetcher = fetcher or default_fetcher()
                if getattr(fetcher, "annotate", False) is None:
                    # tag each feed's articles where it is parsed: overlaps the network, both cores
                    fetcher.annotate = TagAnnotator(  # type: ignore[attr-defined]
                        config.model.topics, config.model.watchlist, tag_fp,
                        oldest=oldest_published(period, settings.max_age_days))
                sources = feed_sources(config)
                states = feed_states(store, sources)
                # the read-ahead and the parser processes are forked while this is the
                # process's only thread (see procs.context)
                reader = _ReadAhead(config, period, now, tag_fp, seeds=len(articles))
                prepare = getattr(fetcher, "prepare", None)
                bodies = prepare(sources, states, now=now) if prepare is not None else True
                reader.listen()
                warm: threading.Thread | None = None
                if bodies:  # else (all 304, likely) the read-ahead's issue is the one
                    warm = threading.Thread(target=_warm_up, args=(config, tag_fp),
                                            name="warm-up", daemon=True)
                    warm.start()
                # not recorded yet (see fetch_feeds): health is recorded after the items
                results = fetcher.fetch_all(sources, states, now=now)
                if warm is not None:
                    warm.join()
                for r in results:
                    for k, v in r.annotations.get("tags", {}).items():
                        tag_cache.put_encoded(k, v)
                    known.update(r.annotations.get("features", {}))
                    if r.error is not None:
                        # one plain line: the text may quote what a hostile server sent
                        fe = FeedError(feed=r.source.name, url=r.source.url,
                                       error=plain_line(r.error, 300))
                        errors.append(fe)
                        if on_feed_error:
                            on_feed_error(fe)
                    articles.extend(r.articles)
            upserted = store.upsert_articles(articles, now)
            log.info("%d items ingested, %d new", upserted.seen, upserted.new)
            if not offline and config.feeds:
                # feed health after the items are stored (see fetch_feeds); the footer lists
                # feeds failing for more than a week (issue 3)
                from .health import long_failing, merge_feed_errors, record_results

                record_results(store, results, now)
                errors = merge_feed_errors(errors, long_failing(
                    store, now, days=7, names={f.url: f.name for f in config.feeds}))
            # stored: the fetched copies go, so merging (the memory peak) does not hold them too
            del results, articles
            # what was read while fetching is the store's only if nothing came or changed
            early = (reader.result() if reader is not None and upserted.new == 0
                     and upserted.changed == 0 else None)
        finally:
            if reader is not None:
                reader.stop()

        if early is not None:  # tags the read-ahead looked up or made: the cache keeps them
            tag_cache.used.update(early.tags_used)
            for k, v in early.tags_new.items():
                tag_cache.put_encoded(k, v)
        counts = DigestCounts(items_seen=upserted.seen, items_new=upserted.new,
                              feeds_total=0 if offline else len(config.feeds))
        if early is not None and early.digest is not None and early.docs is not None:
            keys = early.keys
            # assemble() with these inputs: only the feed errors and the counts can differ
            digest = with_run(early.digest, feed_errors=errors, counts=counts)
            same = (digest.feed_errors, digest.counts) == (early.digest.feed_errors,
                                                           early.digest.counts)
            docs = early.docs if same else render_digest(digest, tz=config.tz,
                                                         templates_dir=config.templates_dir)
            tag_cache.flush(now)
        else:
            items = select_items(store.items_for_issue(period.issue, now), period,
                                 settings.max_age_days)
            keys = [it.key for it in items]
            tagged, tagger = tag_items(items, config, tag_cache)
            tag_cache.flush(now)  # content-keyed: safe to keep even if this build fails later
            digest = _assemble(config, store, tagged, tagger, period, now, errors, counts, known)
            docs = render_digest(digest, tz=config.tz, templates_dir=config.templates_dir)
        known.clear()
        log.info("issue %s (%s to %s): %d items selected", period.issue,
                 period.start.isoformat(), period.end.isoformat(), len(keys))
        rendered = write_issue(out, period.issue, docs)
        # The archive (index.html, feed.xml; issue 7) is read from the folder, so it lists
        # the issue just written; each file is replaced atomically. Before record_issue:
        # if it fails, the issue is not marked built and the next build redoes both.
        from .archive import write_archive

        # the feed's inlined issue bodies are cached beside the state, for every --out folder
        write_archive(out, title=settings.title, tz=config.tz, templates_dir=config.templates_dir,
                      body_cache=config.state_path.with_name(
                          config.state_path.name + ".feed-bodies.json"))
        store.record_issue(
            IssueRecord(issue=period.issue, title=settings.title, period_start=period.start,
                        period_end=period.end, built_at=now, files=rendered.paths,
                        stories=len(digest.stories), alerts=len(digest.alerts)),
            keys=keys)
    return BuildReport(rendered=rendered, digest=digest, counts=digest.counts,
                       feed_errors=tuple(errors))
