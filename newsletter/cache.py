"""Build caches: what a warm build (every feed 304) must not compute again.

Two caches, both in the store (migration 4), both keyed so that a stale entry can never
be used:

- **Tags** per item content: key = hash of (title, text, language), fingerprint = hash
  of everything else tagging and watchlist matching depend on (the taxonomy data file,
  the tagger's code, the user's ``topics:`` and ``watchlist:``). A changed item, a new
  taxonomy or a changed config gives a new key or fingerprint, so a miss.
- **Merge groups** per issue input: ``cluster.merge_stories`` computes the fingerprint
  of its inputs (items, their texts, dates and topics, the merge parameters and code)
  and asks this cache before scoring any pair.

Entries unused for ``KEEP_DAYS`` are dropped, so the state file does not grow forever.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .types import Article, TagResult

if TYPE_CHECKING:
    from .store import Store
    from .tag import Tagger
    from .watchlist import Watchlist

KEEP_DAYS = 60
# Modules whose code decides tags and watchlist hits: a change to any is a new fingerprint.
_TAG_CODE = ("tag/tagger.py", "tag/matcher.py", "tag/normalize.py", "tag/taxonomy.py",
             "tag/taxonomy.yaml", "tag/word_model.py", "tag/word_model.json", "watchlist.py")


@lru_cache(maxsize=1)
def _code_digest(files: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    root = resources.files("newsletter")
    for name in files:
        h.update(name.encode())
        h.update(root.joinpath(name).read_bytes())
    return h.hexdigest()


def tag_fingerprint(user_topics: object, watchlist: object) -> str:
    """What tags and watchlist hits depend on besides the item's own text."""
    h = hashlib.sha256(_code_digest(_TAG_CODE).encode())
    h.update(json.dumps([user_topics, watchlist], sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def tag_key(a: Article) -> str:
    """The part of an item that tagging reads: title, text, language."""
    return hashlib.sha256(f"{a.title}\0{a.text}\0{a.language}".encode()).hexdigest()[:32]


Tagged = tuple[TagResult, tuple[str, ...]]  # tags, watchlist hits


def encode_tags(tags: TagResult, watch: Sequence[str]) -> str:
    return json.dumps([list(tags.topics), {k: list(v) for k, v in tags.evidence.items()},
                       list(watch)], ensure_ascii=False, separators=(",", ":"))


_NOTHING: Tagged = (TagResult(topics=(), evidence=MappingProxyType({})), ())
_UNTAGGED = encode_tags(*_NOTHING)


def decode_tags(s: str) -> Tagged:
    if s == _UNTAGGED:  # most items of a week: one shared value, no JSON parse
        return _NOTHING
    topics, evidence, watch = json.loads(s)
    return (TagResult(topics=tuple(topics),
                      evidence=MappingProxyType({k: tuple(v) for k, v in evidence.items()})),
            tuple(watch))


class TagCache:
    """Tags per item text for one fingerprint, read from and written back to the store."""

    def __init__(self, store: "Store", fingerprint: str) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.new: dict[str, str] = {}  # key -> encoded, to write back
        self.used: set[str] = set()  # keys asked for: their entries stay fresh

    def get_many(self, keys: Iterable[str]) -> dict[str, Tagged]:
        """Cached results of ``keys``: the store's, and those ``put`` since the last flush."""
        wanted = set(keys)
        self.used.update(wanted)
        rows = self.store.cached_tags(self.fingerprint, wanted - self.new.keys())
        rows.update((k, v) for k, v in self.new.items() if k in wanted)
        return {k: decode_tags(v) for k, v in rows.items()}

    def put(self, key: str, tags: TagResult, watch: Sequence[str]) -> None:
        self.new[key] = encode_tags(tags, watch)

    def put_encoded(self, key: str, encoded: str) -> None:
        self.new[key] = encoded

    def flush(self, now: datetime) -> None:
        """Write new results, keep the used ones, drop entries unused for ``KEEP_DAYS``."""
        self.store.cache_tags(self.fingerprint, self.new, self.used, now,
                              forget_before=now - timedelta(days=KEEP_DAYS))
        self.new = {}


class GroupCache:
    """Merge groups by the fingerprint of the merge inputs (see ``cluster.merge_stories``)."""

    def __init__(self, store: "Store", now: datetime) -> None:
        self.store = store
        self.now = now

    def get(self, fingerprint: str) -> list[list[int]] | None:
        s = self.store.cached_groups(fingerprint)
        return None if s is None else [list(g) for g in json.loads(s)]

    def put(self, fingerprint: str, groups: Sequence[Sequence[int]]) -> None:
        self.store.cache_groups(fingerprint, json.dumps([list(g) for g in groups]), self.now,
                                forget_before=self.now - timedelta(days=KEEP_DAYS))


_TOOLS: dict[str, Any] = {}  # per process: (tagger, watchlist) by tag fingerprint
_TOOLS_KEEP = 4  # a long-lived process (``newsletter schedule``) may see its config change
_TOOLS_LOCK = threading.Lock()


def tag_tools(user_topics: Any, watchlist: Any, fingerprint: str) -> tuple[Tagger, Watchlist]:
    """The tagger and watchlist of a config, compiled once per process and fingerprint
    (``tag_fingerprint(user_topics, watchlist)``): a build asks for them in each parser
    process, in its warm-up while the feeds are fetched, and when it tags."""
    with _TOOLS_LOCK:  # the build's warm-up thread and a fetch thread may both ask
        tools = _TOOLS.get(fingerprint)
        if tools is None:
            from .tag import Tagger
            from .watchlist import Watchlist

            tools = (Tagger.load(user_topics=user_topics), Watchlist.from_config(watchlist))
            while len(_TOOLS) >= _TOOLS_KEEP:
                _TOOLS.pop(next(iter(_TOOLS)))
            _TOOLS[fingerprint] = tools
        return tools


@dataclass(frozen=True)
class TagAnnotator:
    """Tags a feed's articles in the fetcher's parser processes (``fetch.Annotator``), so
    tagging overlaps the network and uses both cores; the build puts the results into its
    ``TagCache`` (same key, same encoding), and tags only what is missing itself."""

    user_topics: Any  # the config's raw ``topics:`` and ``watchlist:`` sections
    watchlist: Any
    fingerprint: str  # tag_fingerprint(user_topics, watchlist): results are kept under it
    # Articles published before this go into no issue (``select.oldest_published``): a new
    # feed's back catalogue is stored, never tagged. None: tag all.
    oldest: datetime | None = None

    def warm_up(self) -> None:
        """Ready the tagger, its word model and the merge lexicon before the first feed."""
        from .cluster import load_lexicon

        tag_tools(self.user_topics, self.watchlist, self.fingerprint)[0].ready()
        load_lexicon()

    def __call__(self, articles: Sequence[Article]) -> dict[str, Any]:
        """``{"tags": {tag_key: encoded tags}, "features": {feature key: Features}}``.

        Merge features (``cluster.features``, a third of a cold build's merge) are made
        here too for the reports that got a topic and carry a date: the date as the store
        gives it back (UTC, whole seconds), so the build finds them by the same key.
        Articles older than ``oldest`` get neither; should one be selected after all, the
        build tags it itself (a cache miss).
        """
        from .cluster import PackedFeatures, feature_key, features, load_lexicon
        from .store import from_iso, to_iso

        tagger, watch = tag_tools(self.user_topics, self.watchlist, self.fingerprint)
        lex = load_lexicon()
        tags: dict[str, str] = {}
        feats: dict[str, Any] = {}
        oldest = self.oldest
        for a in articles:
            if oldest is not None and a.published is not None and a.published < oldest:
                continue
            tr = tagger.tag(a.title, a.text, a.language)
            tags[tag_key(a)] = encode_tags(tr, watch.match(a.title, a.text))
            when = from_iso(to_iso(a.published))
            if tr.topics and when is not None:
                lang = (a.language or "en")[:2].lower()
                feats[feature_key(a.title, a.text, a.language, when, tr.topics)] = \
                    PackedFeatures.pack(features(a.title, a.text, lang, when, lex, tr.topics))
        return {"tags": tags, "features": feats}
