"""Ordering stories by importance (issue 5).

A story's score is a weighted sum of four parts, each kept in ``Rank.components`` so the
digest's JSON shows why a story came first:

- ``watchlist``: 1 when the story names a watchlist entry (the reader asked for these);
- ``outlets``: log2 of the number of distinct outlets that reported it (5 outlets is news,
  but not five times the news of one);
- ``topics``: the highest taxonomy weight among its topics (``tagger.weights``);
- ``recency``: 1 for a story from ``now``, halving every ``half_life_days``.

Pure: the clock comes in as ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Mapping, Sequence

from .types import Rank, Story, TaggedItem

__all__ = ["RankWeights", "rank_stories", "score_story"]


@dataclass(frozen=True)
class RankWeights:
    """How much each part counts; the config's optional ``ranking:`` section sets these."""

    watchlist: float = 3.0  # a watchlist hit outweighs everything else
    outlets: float = 1.0  # per doubling of the number of outlets
    topics: float = 1.0  # times the story's highest topic weight
    recency: float = 1.0  # times the freshness (1 now, 0.5 after half_life_days)
    top_stories: int = 3  # size of the digest's "Top stories" block
    half_life_days: float = 3.5  # freshness halves in this many days
    default_topic_weight: float = 1.0  # for a topic missing from the weights


def _when(t: TaggedItem) -> datetime:
    dt = t.article.published or t.item.first_seen
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _reports(story: Story) -> tuple[TaggedItem, ...]:
    return (story.lead, *story.also)


def _newest(story: Story) -> datetime:
    return max(_when(t) for t in _reports(story))


def score_story(
    story: Story, *, weights: RankWeights, topic_weights: Mapping[str, float], now: datetime
) -> Rank:
    """The story's score and its weighted parts."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    outlets = {t.article.source.strip().casefold() for t in _reports(story)}
    topic_value = max(
        (topic_weights.get(tp, weights.default_topic_weight) for tp in story.topics), default=0.0
    )
    age_days = max(0.0, (now - _newest(story)).total_seconds() / 86400.0)
    freshness = 0.5 ** (age_days / weights.half_life_days) if weights.half_life_days > 0 else 0.0
    components = {
        "watchlist": weights.watchlist * (1.0 if story.watchlist else 0.0),
        "outlets": weights.outlets * math.log2(max(1, len(outlets))),
        "topics": weights.topics * topic_value,
        "recency": weights.recency * freshness,
    }
    components = {k: round(v, 6) for k, v in components.items()}
    return Rank(score=round(sum(components.values()), 6), components=components)


def rank_stories(
    stories: Sequence[Story],
    *,
    weights: RankWeights,
    topic_weights: Mapping[str, float],
    now: datetime,
) -> list[Story]:
    """New stories with ``rank`` set, best first; ties go to the newer story, then by title."""
    ranked = [
        replace(s, rank=score_story(s, weights=weights, topic_weights=topic_weights, now=now))
        for s in stories
    ]
    return sorted(
        ranked,
        key=lambda s: (-s.rank.score, -_newest(s).timestamp(), s.lead.article.title.casefold(), s.id),
    )
