"""The plain data passed between pipeline stages.

One frozen dataclass per stage, as in lemon24/reader's ``types.py``:
``Article`` (ingested, cleaned) -> ``Item`` (stored, with first-seen time) ->
``TaggedItem`` (topics and evidence) -> ``Story`` (a lead report plus the others)
-> ``Digest`` (an issue's period and sections) -> ``Rendered`` (files written).
Stages never mutate what they are given; they return new values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Mapping

SourceKind = Literal["seed", "feed"]


@dataclass(frozen=True)
class Article:
    """One report as ingested: a seed file or a feed entry, already cleaned to plain text."""

    kind: SourceKind  # where it came from
    source: str  # outlet or feed name, shown to the reader
    title: str  # cleaned headline
    text: str  # cleaned plain-text body (may be empty for a feed entry with no content)
    url: str | None = None  # canonical link, tracking parameters removed
    published: datetime | None = None  # aware datetime, or None when the source gives none
    language: str = "en"  # ISO 639-1 code, given or detected
    guid: str | None = None  # feed GUID, or the seed's file name
    feed_url: str | None = None  # the feed it came from (None for seeds)
    body_markdown: str | None = None  # a .md seed's body, rendered into the HTML digest

    @property
    def key(self) -> str:
        """The item's identity: GUID, else canonical link, else a hash of source and title."""
        from .identity import item_key

        return item_key(self)


@dataclass(frozen=True)
class Item:
    """An article as the store knows it."""

    key: str  # identity, see ``Article.key``
    article: Article  # the newest version seen
    first_seen: datetime  # when this item was first ingested (never changes)
    issue: str | None = None  # the issue it went into, if any


@dataclass(frozen=True)
class TagResult:
    """What the tagger decided for one text, and why."""

    topics: tuple[str, ...] = ()  # topic ids, in taxonomy order
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # topic id -> matched phrases
    # topics the cues found but the word model overruled, with the cues' phrases: for
    # ``newsletter tag --explain`` (not kept in the tag cache; a build shows only tags)
    overruled: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TaggedItem:
    """A stored item with its topics and watchlist hits."""

    item: Item
    tags: TagResult
    watchlist: tuple[str, ...] = ()  # watchlist names (canonical spelling) the item mentions

    @property
    def article(self) -> Article:
        return self.item.article


@dataclass(frozen=True)
class Rank:
    """A story's score and its parts, kept for debugging the order."""

    score: float = 0.0
    components: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """One event: the best report (lead) and the other reports merged into it."""

    lead: TaggedItem  # the report shown
    also: tuple[TaggedItem, ...] = ()  # other reports of the same event
    topics: tuple[str, ...] = ()  # union of the reports' topics, taxonomy order
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # topic id -> phrases
    watchlist: tuple[str, ...] = ()  # union of watchlist hits
    summary: str | None = None  # one or two sentences, or None when no good one exists
    rank: Rank = field(default_factory=Rank)

    @property
    def id(self) -> str:
        return self.lead.item.key


@dataclass(frozen=True)
class FeedError:
    """A feed that failed in this run; one bad feed never spoils the others."""

    feed: str  # the feed's name from the config
    url: str
    error: str  # one line, for a human


@dataclass(frozen=True)
class Section:
    """The stories whose main topic is ``topic``."""

    topic: str  # topic id
    label: str  # human label
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class DigestCounts:
    """Numbers for the footer and the one-line run summary."""

    items_seen: int = 0  # articles ingested in this run (seeds + feed entries)
    items_new: int = 0  # of those, first seen in this run
    candidates: int = 0  # items selected for this issue
    tagged: int = 0  # candidates with at least one topic
    untagged: int = 0  # candidates with no topic: not privacy news, left out
    stories: int = 0  # stories in the digest after merging
    feeds_total: int = 0
    feeds_failed: int = 0


@dataclass(frozen=True)
class Digest:
    """One issue, ready to render."""

    issue: str  # ISO week of the period's end, e.g. "2026-W47"
    title: str
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    alerts: tuple[Story, ...]  # stories naming watchlist entries, shown first
    top: tuple[Story, ...]  # top stories block (not repeated in alerts)
    sections: tuple[Section, ...]  # the rest, one section per main topic in taxonomy order
    overflow: tuple[Story, ...] = ()  # stories cut by max_stories, counted in the footer
    feed_errors: tuple[FeedError, ...] = ()
    counts: DigestCounts = field(default_factory=DigestCounts)
    intro_markdown: str | None = None  # the editor's note, if configured
    topic_labels: Mapping[str, str] = field(default_factory=dict)  # topic id -> label

    @property
    def stories(self) -> tuple[Story, ...]:
        """Every story shown, in display order (alerts, top, then sections)."""
        return self.alerts + self.top + tuple(s for sec in self.sections for s in sec.stories)


@dataclass(frozen=True)
class Rendered:
    """The files of one built issue."""

    issue: str
    paths: tuple[str, ...]  # .md, .html, .txt, .json, in that order
