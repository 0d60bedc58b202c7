"""Assemble an issue from its tagged items: merge, summarise, rank, cut, section.

Pure: the pipeline hands in items and settings, gets a ``Digest`` back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Mapping, Sequence

from .select import Period
from .types import Digest, DigestCounts, FeedError, Section, Story, TaggedItem

if TYPE_CHECKING:
    from .cluster import GroupCache, PackedFeatures
    from .rank import RankWeights


@dataclass(frozen=True)
class DigestSettings:
    title: str
    max_stories: int = 30
    top_stories: int = 3
    prefer_language: str | None = None


def main_topic(story: Story, order: Sequence[str]) -> str:
    """The topic with the most evidence; ties go to the earlier topic in the taxonomy."""
    pos = {t: i for i, t in enumerate(order)}
    return min(story.topics, key=lambda t: (-len(story.evidence.get(t, ())), pos.get(t, 999)))


def assemble(
    tagged: Sequence[TaggedItem],
    *,
    period: Period,
    settings: DigestSettings,
    topic_order: Sequence[str],
    topic_labels: Mapping[str, str],
    topic_weights: Mapping[str, float],
    rank_weights: RankWeights,
    now: datetime,
    feed_errors: Sequence[FeedError] = (),
    counts: DigestCounts = DigestCounts(),
    intro_markdown: str | None = None,
    group_cache: GroupCache | None = None,
    known_features: Mapping[str, PackedFeatures] | None = None,
) -> Digest:
    """``group_cache``: merge groups of unchanged inputs are reused (see ``cluster.merge_stories``);
    ``known_features``: merge features computed ahead, by ``cluster.item_feature_key``."""
    from .cluster import merge_stories
    from .rank import rank_stories
    from .summarize import summarize

    relevant = [t for t in tagged if t.tags.topics]
    stories = merge_stories(relevant, prefer_language=settings.prefer_language,
                            topic_order=topic_order, cache=group_cache, known=known_features)
    # rank never reads the summary and the overflow lists only headlines: summarise the
    # stories shown, not every story of a busy week
    ranked = rank_stories(stories, weights=rank_weights,
                          topic_weights=topic_weights, now=now)
    shown = [dataclasses.replace(s, summary=summarize(s.lead.article.text,
                                                     lang=s.lead.article.language,
                                                     title=s.lead.article.title))
             for s in ranked[: settings.max_stories]]
    overflow = ranked[settings.max_stories:]

    alerts = tuple(s for s in shown if s.watchlist)
    rest = [s for s in shown if not s.watchlist]
    top = tuple(rest[: settings.top_stories])
    rest = rest[settings.top_stories:]
    by_topic: dict[str, list[Story]] = {}
    for s in rest:
        by_topic.setdefault(main_topic(s, topic_order), []).append(s)
    sections = tuple(Section(topic=t, label=topic_labels.get(t, t), stories=tuple(by_topic[t]))
                     for t in topic_order if t in by_topic)
    digest = Digest(
        issue=period.issue, title=settings.title, period_start=period.start,
        period_end=period.end, generated_at=now, alerts=alerts, top=top, sections=sections,
        overflow=tuple(overflow), feed_errors=(), intro_markdown=intro_markdown,
        topic_labels=dict(topic_labels),
        counts=DigestCounts(candidates=len(tagged), tagged=len(relevant),
                            untagged=len(tagged) - len(relevant), stories=len(ranked)))
    return with_run(digest, feed_errors=feed_errors, counts=counts)


def with_run(digest: Digest, *, feed_errors: Sequence[FeedError], counts: DigestCounts) -> Digest:
    """The digest with one run's feed errors and ingest counts (items seen and new, feeds).

    Apart from these, a digest depends only on the items: a build that assembled the issue
    while the feeds were still being fetched completes it here once their results are in.
    """
    return dataclasses.replace(digest, feed_errors=tuple(feed_errors), counts=dataclasses.replace(
        digest.counts, items_seen=counts.items_seen, items_new=counts.items_new,
        feeds_total=counts.feeds_total, feeds_failed=len(feed_errors)))
