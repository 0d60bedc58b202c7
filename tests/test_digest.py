"""Assembling the digest: what a run adds (feed errors, ingest counts) comes in one place."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from newsletter.digest import DigestSettings, assemble, with_run
from newsletter.rank import RankWeights
from newsletter.select import period_ending
from newsletter.types import Article, DigestCounts, FeedError, Item, TaggedItem, TagResult

NOW = datetime(2026, 3, 9, 7, 0, tzinfo=timezone.utc)


def tagged(key: str, title: str, topics: tuple[str, ...]) -> TaggedItem:
    when = NOW - timedelta(days=1)
    article = Article(kind="feed", source="Outlet", title=title, text="Some text.",
                      published=when, guid=key)
    return TaggedItem(item=Item(key=key, article=article, first_seen=when),
                      tags=TagResult(topics=topics))


def build(errors: tuple[FeedError, ...], counts: DigestCounts):  # type: ignore[no-untyped-def]
    return assemble(
        [tagged("a", "Regulator fines retailer", ("enforcement",)),
         tagged("b", "Weather for the weekend", ())],
        period=period_ending(NOW, 7, timezone.utc), settings=DigestSettings(title="T"),
        topic_order=["enforcement"], topic_labels={"enforcement": "Enforcement"},
        topic_weights={"enforcement": 1.0}, rank_weights=RankWeights(), now=NOW,
        feed_errors=errors, counts=counts)


def test_a_digest_assembled_ahead_completed_with_the_runs_results_equals_one_assembled_after() -> None:
    errors = (FeedError(feed="Dead feed", url="https://dead.example/feed", error="HTTP 500"),)
    run = DigestCounts(items_seen=12, items_new=3, feeds_total=4)
    after = build(errors, run)
    ahead = build((), DigestCounts(feeds_total=4))
    assert ahead != after
    assert with_run(ahead, feed_errors=errors, counts=run) == after
    assert after.counts == DigestCounts(items_seen=12, items_new=3, candidates=2, tagged=1,
                                        untagged=1, stories=1, feeds_total=4, feeds_failed=1)
