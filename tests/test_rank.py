"""Ranking stories in a crafted week (issue 5)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from newsletter.rank import RankWeights, rank_stories
from newsletter.types import Article, Item, Story, TaggedItem, TagResult

NOW = datetime(2026, 3, 9, 7, 0, tzinfo=timezone.utc)
TOPIC_WEIGHTS = {"breaches": 1.5, "enforcement": 1.2, "tracking": 0.8, "legislation": 0.7}


def report(key: str, title: str, source: str, days_ago: float) -> TaggedItem:
    when = NOW - timedelta(days=days_ago)
    article = Article(kind="feed", source=source, title=title, text="", published=when, guid=key)
    return TaggedItem(item=Item(key=key, article=article, first_seen=when), tags=TagResult())


def story(key: str, title: str, topics: tuple[str, ...], days_ago: float,
          sources: tuple[str, ...] = ("Outlet",), watchlist: tuple[str, ...] = ()) -> Story:
    reports = [report(f"{key}-{n}", title, src, days_ago) for n, src in enumerate(sources)]
    return Story(lead=reports[0], also=tuple(reports[1:]), topics=topics, watchlist=watchlist)


WEEK = [
    story("old-law", "Parliament debates a new privacy bill", ("legislation",), 6),
    story("breach", "Hospital chain leaks patient records", ("breaches",), 0),
    story("watch", "TikTok changes its privacy policy", ("tracking",), 5, watchlist=("TikTok",)),
    story("fine", "Regulator fines retailer", ("enforcement",), 1,
          sources=("Reuters", "heise online", "The Verge", "netzpolitik.org")),
    story("dup-fine", "Regulator fines retailer", ("enforcement",), 1,
          sources=("Reuters", "Reuters")),  # the same outlet twice counts once
]


def keys(stories: list[Story]) -> list[str]:
    return [s.lead.item.key.rsplit("-", 1)[0] for s in stories]


def test_order_of_a_crafted_week_with_default_weights() -> None:
    ranked = rank_stories(WEEK, weights=RankWeights(), topic_weights=TOPIC_WEIGHTS, now=NOW)
    # watch: 3 + 0.8 + 0.5**(5/3.5); fine: log2(4) + 1.2 + 0.5**(1/3.5); breach: 1.5 + 1;
    # dup-fine: 1.2 + 0.5**(1/3.5); old-law: 0.7 + 0.5**(6/3.5)
    assert keys(ranked) == ["watch", "fine", "breach", "dup-fine", "old-law"]
    fine = ranked[1].rank
    assert fine.components["outlets"] == 2.0
    assert fine.components["topics"] == 1.2
    assert math.isclose(fine.components["recency"], 0.5 ** (1 / 3.5), rel_tol=1e-5)
    assert fine.components["watchlist"] == 0.0
    assert math.isclose(fine.score, sum(fine.components.values()), rel_tol=1e-9)


def test_weights_from_config_change_the_order() -> None:
    weights = RankWeights(watchlist=0.0, outlets=0.0, recency=0.0, topics=1.0)
    ranked = rank_stories(WEEK, weights=weights, topic_weights=TOPIC_WEIGHTS, now=NOW)
    # topics alone: breaches 1.5 > enforcement 1.2 (two stories, tie) > tracking > legislation;
    # the tie goes to the newer story, then to the title, then to the id
    assert keys(ranked) == ["breach", "dup-fine", "fine", "watch", "old-law"]


def test_ties_break_by_recency_then_title() -> None:
    a = story("a", "Beta story", ("tracking",), 2)
    b = story("b", "Alpha story", ("tracking",), 2)
    c = story("c", "Zulu story", ("tracking",), 1)
    weights = RankWeights(recency=0.0)
    ranked = rank_stories([a, b, c], weights=weights, topic_weights=TOPIC_WEIGHTS, now=NOW)
    assert keys(ranked) == ["c", "b", "a"]


def test_returns_new_stories_and_leaves_the_input_alone() -> None:
    ranked = rank_stories(WEEK, weights=RankWeights(), topic_weights={}, now=NOW)
    assert all(s.rank.score == 0.0 for s in WEEK)
    assert all(s.rank.score > 0 for s in ranked)
    # a topic missing from the weights counts with the default weight
    assert ranked[0].rank.components["topics"] == RankWeights().default_topic_weight


def test_defaults_match_the_config_keys() -> None:
    w = RankWeights()
    assert (w.watchlist, w.outlets, w.topics, w.recency, w.top_stories) == (3.0, 1.0, 1.0, 1.0, 3)
