"""Build caches (warm builds): tags per item text and merge groups per input fingerprint.

A cache may only save work, never change a result: each test computes once without the
cache, then twice with it (a miss, then a hit that must not run the expensive step)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

import pytest

from newsletter import cluster
from newsletter.cache import GroupCache, TagCache, tag_fingerprint
from newsletter.cluster import merge_stories
from newsletter.config import load_config
from newsletter.pipeline import tag_items
from newsletter.store import Store
from newsletter.types import Article, Item, TaggedItem, TagResult

from .conftest import write_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

REPORTS = [
    ("a", "en", "Irish regulator fines Vexa 345 million euros over children's data",
     "The Data Protection Commission fined Vexa 345 million euros for how it processed "
     "children's personal data. Vexa said it would appeal."),
    ("b", "de", "Irische Datenschutzbehörde: 345 Millionen Euro Bußgeld gegen Vexa",
     "Die irische Datenschutzbehörde hat gegen Vexa ein Bußgeld von 345 Millionen Euro "
     "verhängt, wegen der Verarbeitung von Daten von Kindern."),
    ("c", "en", "Police in Norland bought location data from brokers",
     "The police of Norland bought location data of millions of phones from data brokers "
     "without a warrant, documents show."),
]


def items() -> list[Item]:
    out = []
    for n, (key, lang, title, text) in enumerate(REPORTS):
        when = T0 + timedelta(hours=n)
        a = Article(kind="feed", source=f"Outlet {key}", title=title, text=text, language=lang,
                    published=when, guid=key, url=f"https://example.org/{key}")
        out.append(Item(key=key, article=a, first_seen=when))
    return out


@pytest.fixture()
def config(tmp_path: Path) -> Any:
    return load_config(write_config(tmp_path, """\
newsletter:
  title: Cache test
  state: state.sqlite3
watchlist: [Vexa]
"""))


def test_tag_cache_gives_the_same_tags_and_skips_tagging(config: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _ = tag_items(items(), config)
    fp = tag_fingerprint(config.model.topics, config.model.watchlist)
    with Store(tmp_path / "state.sqlite3") as store:
        cache = TagCache(store, fp)
        first, _ = tag_items(items(), config, cache)
        cache.flush(T0)
        from newsletter.tag import Tagger

        def boom(*a: object, **k: object) -> None:
            raise AssertionError("tagged again although cached")

        monkeypatch.setattr(Tagger, "tag", boom)
        second, _ = tag_items(items(), config, TagCache(store, fp))
    for p, f, s in zip(plain, first, second):
        assert p.tags.topics == f.tags.topics == s.tags.topics
        assert dict(p.tags.evidence) == dict(f.tags.evidence) == dict(s.tags.evidence)
        assert p.watchlist == f.watchlist == s.watchlist
    assert any(p.tags.topics for p in plain) and plain[0].watchlist == ("Vexa",)


def test_tag_fingerprint_follows_topics_and_watchlist() -> None:
    base = tag_fingerprint(None, ["Vexa"])
    assert base == tag_fingerprint(None, ["Vexa"])
    assert base != tag_fingerprint(None, ["Vexa", "Norland"])
    assert base != tag_fingerprint({"custom": {"label": "X", "cues": []}}, ["Vexa"])


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, list[list[int]]] = {}

    def get(self, fingerprint: str) -> list[list[int]] | None:
        return self.data.get(fingerprint)

    def put(self, fingerprint: str, groups: Sequence[Sequence[int]]) -> None:
        self.data[fingerprint] = [list(g) for g in groups]


def tagged(topics: tuple[str, ...] = ("enforcement",)) -> list[TaggedItem]:
    return [TaggedItem(item=it, tags=TagResult(topics=topics, evidence={}))
            for it in items()]


def members(stories: list[Any]) -> list[list[str]]:
    return [[t.item.key for t in (s.lead, *s.also)] for s in stories]


def test_group_cache_same_stories_without_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = merge_stories(tagged())
    cache = DictCache()
    first = merge_stories(tagged(), cache=cache)
    assert len(cache.data) == 1

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("merged again although cached")

    monkeypatch.setattr(cluster, "group_indices", boom)
    second = merge_stories(tagged(), cache=cache)
    assert members(plain) == members(first) == members(second)
    assert sorted(map(sorted, members(plain))) == [["a", "b"], ["c"]]  # the fine is one story
    with pytest.raises(AssertionError):  # other topics: another fingerprint, a miss
        merge_stories(tagged(("breaches",)), cache=cache)


def test_group_cache_in_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        cache = GroupCache(store, T0)
        assert cache.get("x") is None
        cache.put("x", [[0, 2], [1]])
        assert cache.get("x") == [[0, 2], [1]]


def test_a_cached_grouping_that_does_not_fit_is_ignored() -> None:
    cache = DictCache()
    fp = cluster.groups_fingerprint(tagged(), cluster.MergeParams())
    cache.data[fp] = [[0]]  # not a partition of three items
    assert sorted(sum(members(merge_stories(tagged(), cache=cache)), [])) == ["a", "b", "c"]


def test_tags_made_in_the_parser_processes_equal_the_builds_own(config: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """The fetcher tags each feed where it parses it (TagAnnotator); the build then takes
    those results from the cache and tags nothing itself, with the very same outcome."""
    from newsletter.cache import TagAnnotator, tag_key

    plain, _ = tag_items(items(), config)
    fp = tag_fingerprint(config.model.topics, config.model.watchlist)
    out = TagAnnotator(config.model.topics, config.model.watchlist, fp)(
        [it.article for it in items()])
    notes = out["tags"]
    assert set(notes) == {tag_key(it.article) for it in items()}
    # merge features too, for each tagged report, equal to the ones the merge makes
    by_key = {cluster.item_feature_key(t): t for t in plain if t.tags.topics}
    assert by_key and set(out["features"]) == set(by_key)
    for k, f in out["features"].items():
        # packed for the trip (grams as one string), the same features once unpacked
        assert isinstance(f, cluster.PackedFeatures) and isinstance(f.grams, str)
        assert f.unpack() == cluster.item_features(by_key[k])
    # as the build receives them from a parser process (pickled): the same features
    import pickle

    arrived = pickle.loads(pickle.dumps(out["features"]))
    assert arrived == out["features"]
    assert all(f.unpack() == cluster.item_features(by_key[k]) for k, f in arrived.items())
    with Store(tmp_path / "state.sqlite3") as store:
        cache = TagCache(store, fp)
        for k, v in notes.items():
            cache.put_encoded(k, v)
        from newsletter.tag import Tagger

        def boom(*a: object, **k: object) -> None:
            raise AssertionError("tagged again although the parser process did it")

        monkeypatch.setattr(Tagger, "tag", boom)
        from_workers, _ = tag_items(items(), config, cache)
    for p, w in zip(plain, from_workers):
        assert p.tags.topics == w.tags.topics
        assert dict(p.tags.evidence) == dict(w.tags.evidence)
        assert p.watchlist == w.watchlist


def test_articles_too_old_for_any_issue_are_stored_untagged(config: Any) -> None:
    """A new feed's back catalogue goes into no issue, so the parser processes do not tag
    it; the bound is the one the selection uses."""
    from newsletter.cache import TagAnnotator, tag_key
    from newsletter.select import Period, oldest_published, select_items

    period = Period(start=T0 + timedelta(days=14, minutes=30), end=T0 + timedelta(days=21),
                    issue="2026-W12")
    oldest = oldest_published(period, 14)
    assert oldest == T0 + timedelta(minutes=30)
    arts = [it.article for it in items()]  # published T0, T0 + 1 h, T0 + 2 h
    fp = tag_fingerprint(config.model.topics, config.model.watchlist)
    out = TagAnnotator(config.model.topics, config.model.watchlist, fp, oldest=oldest)(arts)
    assert set(out["tags"]) == {tag_key(a) for a in arts[1:]}
    assert len(out["features"]) == 2  # none for the first either
    selected = select_items(items(), period, 14)
    assert [it.key for it in selected] == ["b", "c"]


def test_a_rebuild_sees_a_changed_feed_item_and_an_unchanged_rebuild_is_the_same(
        project: Path, http_dir: tuple[str, Path], tmp_path: Path) -> None:
    """The build reads and tags the stored items while it fetches; that early read is used
    only when the fetch brought nothing new or changed, else the build reads again."""
    import json
    import shutil

    from .conftest import DATA, run_cli
    from .test_build_e2e import NOW, edit_feed, make_config

    base, root = http_dir
    for f in (DATA / "e2e").iterdir():
        shutil.copy(f, root / f.name)
    cfg = make_config(project, base)

    def build(out: str) -> dict[str, Any]:
        r = run_cli("build", "--config", str(cfg), "--now", NOW, "--out", str(tmp_path / out))
        assert r.returncode == 0, r.stderr
        return json.loads((tmp_path / out / "2026-W48.json").read_text(encoding="utf-8"))

    first = build("one")
    assert build("two")["stories"] == first["stories"]  # warm: nothing new, same issue
    edit_feed(root, "Hospital chain confirms breach", "Hospital chain Zorvexa confirms breach")
    titles = [s["title"] for s in build("three")["stories"]]
    assert any("Zorvexa" in t for t in titles), titles


def test_tag_tools_are_compiled_once_per_fingerprint_and_bounded(config: Any) -> None:
    """The build's warm-up, its parser processes and its tagging share one compiled tagger
    per config; a long-lived process whose config keeps changing keeps only a few."""
    from newsletter import cache

    topics, watch = config.model.topics, config.model.watchlist
    fp = tag_fingerprint(topics, watch)
    first = cache.tag_tools(topics, watch, fp)
    assert cache.tag_tools(topics, watch, fp) is first
    for n in range(cache._TOOLS_KEEP + 2):
        cache.tag_tools(None, [f"Name{n}"], f"other-{n}")
    assert len(cache._TOOLS) == cache._TOOLS_KEEP and fp not in cache._TOOLS
    again = cache.tag_tools(topics, watch, fp)
    assert again is not first and again[1].names == first[1].names
    again[0].ready()
    assert "_word_model" in vars(again[0])  # loaded now, not at the first item
