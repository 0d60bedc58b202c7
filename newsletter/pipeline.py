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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from .config import Config
from .digest import DigestSettings, assemble, with_run
from .ingest.feeds import FeedSource
from .ingest.fetch import Fetcher, FeedResult, FetchProgress
from .ingest.seeds import read_seeds
from .lock import run_lock
from .render import render_digest, write_issue
from .sanitize import plain_line
from .select import Period, period_ending, select_items
from .store import IssueRecord, Store
from .types import Article, Digest, DigestCounts, FeedError, Item, Rendered, TaggedItem

if TYPE_CHECKING:
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
    from .cache import tag_key
    from .tag import Tagger
    from .watchlist import Watchlist

    tagger = Tagger.load(user_topics=config.model.topics)
    watch = Watchlist.from_config(config.model.watchlist)
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


@dataclass
class _Early:
    """What the build read, tagged, assembled and rendered while the feeds were fetched."""

    items: list[Item]
    tagged: list[TaggedItem]
    tagger: Tagger
    digest: Digest | None = None  # assembled as if no feed brought anything or failed
    docs: dict[str, str] | None = None  # ``digest`` rendered


def _fetch_while_reading(config: Config, store: Store, now: datetime, fetcher: Fetcher,
                         period: Period, tag_cache: TagCache, seeds: int
                         ) -> tuple[list[FeedResult], _Early | None]:
    """Fetch in a thread; meanwhile read and tag (from the cache) the issue's stored items,
    and, when their merge groups are cached, assemble and render the issue.

    The fetch waits on the network and the parser processes, so this thread is free: when
    no feed brings anything new (a warm build, every feed 304), the work is done when the
    network is. The caller uses it only if the store did not change in between
    (``UpsertResult``: nothing new, nothing changed) and the digest came out the same;
    else it does the work again. A failure here is left for the real pass to report.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .health import feed_states

    sources = feed_sources(config)
    states = feed_states(store, sources)  # the store's connection stays in this thread
    prepare = getattr(fetcher, "prepare", None)
    if prepare is not None:  # fork the parser processes while this is the only thread
        prepare(sources, states, now=now)
    with ThreadPoolExecutor(1, thread_name_prefix="fetch") as ex:
        fut = ex.submit(fetcher.fetch_all, sources, states, now=now)
        early: _Early | None = None
        try:
            # imported here, not before the fetch starts: the fetch threads wait on the network
            from .cache import GroupCache
            from .cluster import MergeParams, groups_fingerprint

            items = select_items(store.items_for_issue(period.issue, now), period,
                                 config.settings.max_age_days)
            if items:
                tagged, tagger = tag_items(items, config, tag_cache)
                early = _Early(items, tagged, tagger)
                relevant = [t for t in tagged if t.tags.topics]
                # only with the groups cached: merging anew could be seconds of lost work
                if GroupCache(store, now).get(groups_fingerprint(relevant, MergeParams())) is not None:
                    early.digest = _assemble(
                        config, store, tagged, tagger, period, now, (),
                        DigestCounts(items_seen=seeds, items_new=0,
                                     feeds_total=len(config.feeds)))
                    early.docs = render_digest(early.digest, tz=config.tz,
                                               templates_dir=config.templates_dir)
        except Exception:
            log.debug("reading ahead while fetching failed", exc_info=True)
        return fut.result(), early


def build(config: Config, *, now: datetime, out_dir: Path | None = None, offline: bool = False,
          fetcher: Fetcher | None = None, lock_wait: float = 60.0, lock: bool = True,
          on_feed_error: Callable[[FeedError], None] | None = None) -> BuildReport:
    """Build the issue of the period that ends at ``now`` and write its four files."""
    settings = config.settings
    out = out_dir if out_dir is not None else config.output_dir
    # lock=False: the caller (`run`) already holds the run lock across build and send.
    held = run_lock(config.state_path, wait=lock_wait) if lock else contextlib.nullcontext()
    with held, Store(config.state_path) as store:
        articles: list[Article] = list(read_seeds(config.seeds_dir))
        log.info("%d seeds read from %s", len(articles), config.seeds_dir)
        errors: list[FeedError] = []
        results: list[FeedResult] = []
        from .cache import TagAnnotator, TagCache, tag_fingerprint

        tag_fp = tag_fingerprint(config.model.topics, config.model.watchlist)
        tag_cache = TagCache(store, tag_fp)
        period = period_ending(now, settings.period_days, config.tz)
        early: _Early | None = None
        known: dict[str, PackedFeatures] = {}  # merge features made by the parser processes
        if not offline and config.feeds:
            fetcher = fetcher or default_fetcher()
            if getattr(fetcher, "annotate", False) is None:
                # tag each feed's articles where it is parsed: overlaps the network, both cores
                fetcher.annotate = TagAnnotator(  # type: ignore[attr-defined]
                    config.model.topics, config.model.watchlist, tag_fp)
            # not recorded yet (see fetch_feeds): health is recorded after the items
            results, early = _fetch_while_reading(config, store, now, fetcher, period, tag_cache,
                                                  seeds=len(articles))
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

        if not (upserted.new == 0 and upserted.changed == 0):
            early = None  # what was read while fetching is no longer the store's
        if early is not None:
            items, tagged, tagger = early.items, early.tagged, early.tagger
        else:
            items = select_items(store.items_for_issue(period.issue, now), period,
                                 settings.max_age_days)
            tagged, tagger = tag_items(items, config, tag_cache)
        log.info("issue %s (%s to %s): %d items selected", period.issue,
                 period.start.isoformat(), period.end.isoformat(), len(items))
        tag_cache.flush(now)  # content-keyed: safe to keep even if this build fails later
        counts = DigestCounts(items_seen=upserted.seen, items_new=upserted.new,
                              feeds_total=0 if offline else len(config.feeds))
        if early is not None and early.digest is not None:
            # assemble() with these inputs: only the feed errors and the counts differ
            digest = with_run(early.digest, feed_errors=errors, counts=counts)
        else:
            digest = _assemble(config, store, tagged, tagger, period, now, errors, counts, known)
        known.clear()
        if early is not None and early.docs is not None and digest == early.digest:
            docs = early.docs
        else:
            docs = render_digest(digest, tz=config.tz, templates_dir=config.templates_dir)
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
            keys=[it.key for it in items])
    return BuildReport(rendered=rendered, digest=digest, counts=digest.counts,
                       feed_errors=tuple(errors))
