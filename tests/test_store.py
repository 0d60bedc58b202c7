"""The SQLite store and item selection, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsletter.exceptions import StoreError
from newsletter.identity import canonical_url
from newsletter.select import issue_id, period_ending, select_items
from newsletter.store import MIGRATIONS, IssueRecord, Store
from newsletter.types import Article

UTC = timezone.utc
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def art(title: str, *, guid: str | None = None, url: str | None = None,
        published: datetime | None = None, kind: str = "feed") -> Article:
    return Article(kind=kind, source="Wire", title=title, text="t", url=url,  # type: ignore[arg-type]
                   published=published, guid=guid, feed_url="http://f")


def test_identity_rules() -> None:
    assert art("a", guid="g1", url="https://x/1").key == "guid:g1"
    assert art("a", url="https://X.example/p?utm_source=a&id=1&fbclid=z").key == \
        "url:https://x.example/p?id=1"
    assert art("Same Title").key == art("same  title").key
    assert canonical_url("https://x.example/a?gclid=1#frag") == "https://x.example/a"


def test_first_seen_kept_and_schema_versioned(tmp_path: Path) -> None:
    p = tmp_path / "s.sqlite3"
    with Store(p) as s:
        r = s.upsert_articles([art("one", guid="1"), art("two", guid="2")], T0)
        assert (r.seen, r.new) == (2, 2)
        r2 = s.upsert_articles([Article(kind="feed", source="Wire", title="one (updated)",
                                        text="t2", guid="1")], T0 + timedelta(days=1))
        assert r2.new == 0
        it = s.item("guid:1")
        assert it is not None and it.first_seen == T0 and it.article.title == "one (updated)"
    db = sqlite3.connect(p)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.sqlite3"
    Store(p).close()
    db = sqlite3.connect(p)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(p)


def test_selection_rules(tmp_path: Path) -> None:
    period = period_ending(T0, 7, UTC)
    assert period.issue == issue_id(T0, UTC) == "2026-W48"
    with Store(tmp_path / "s.sqlite3") as s:
        s.upsert_articles([
            art("fresh", guid="fresh", published=T0 - timedelta(days=2)),
            art("undated", guid="undated"),
            art("ancient", guid="ancient", published=T0 - timedelta(days=60)),
            art("old seed", guid="seed.txt", kind="seed", published=T0 - timedelta(days=900)),
        ], T0 - timedelta(days=1))
        s.upsert_articles([art("future", guid="later")], T0 + timedelta(days=1))
        items = select_items(s.items_for_issue(period.issue, T0), period, max_age_days=14)
        keys = {i.key for i in items}
        assert keys == {"guid:fresh", "guid:undated", "seed:seed.txt"}
        s.record_issue(IssueRecord(issue=period.issue, title="t", period_start=period.start,
                                   period_end=period.end, built_at=T0, files=(), stories=3,
                                   alerts=0), [i.key for i in items])
        nxt = period_ending(T0 + timedelta(days=7), 7, UTC)
        later = select_items(s.items_for_issue(nxt.issue, nxt.end), nxt, 14)
        assert {i.key for i in later} == {"guid:later"}
        again = select_items(s.items_for_issue(period.issue, T0), period, 14)
        assert {i.key for i in again} == keys
        assert [r.issue for r in s.issues()] == ["2026-W48"]


def test_a_transaction_inside_another_joins_it(tmp_path: Path) -> None:
    """Feed health for many feeds is one commit: each record_feed joins the caller's
    transaction, and a failure anywhere rolls all of them back."""
    now = datetime(2026, 11, 23, 7, tzinfo=timezone.utc)

    def record(st: Store, url: str) -> None:
        st.record_feed(url=url, name=url, now=now, ok=True, status=200, error=None, items=1)

    with Store(tmp_path / "state.sqlite3") as st:
        with pytest.raises(RuntimeError), st.transaction():
            record(st, "http://a/f")
            record(st, "http://b/f")
            raise RuntimeError("after two feeds")
        assert st.feeds() == []
        with st.transaction():
            record(st, "http://a/f")
            assert st.db.in_transaction  # the inner commit did not end the outer one
            record(st, "http://b/f")
        assert [r["url"] for r in st.feeds()] == ["http://a/f", "http://b/f"]
        assert not st.db.in_transaction


def test_a_batch_with_repeats_and_many_keys_is_stored_as_one_by_one(tmp_path: Path) -> None:
    """upsert_articles reads the stored hashes in chunks and writes in batches: the result
    is what storing the articles one at a time gives, repeats in one batch included."""
    t1 = T0 + timedelta(hours=1)
    with Store(tmp_path / "s.sqlite3") as s:
        s.upsert_articles([art(f"old {i}", guid=f"g{i}") for i in range(700)], T0)
        batch = [art(f"new {i}", guid=f"n{i}") for i in range(600)]  # more than one chunk
        batch += [art("old 1", guid="g1"),  # unchanged: only seen again
                  Article(kind="feed", source="Wire", title="old 2, corrected", text="t",
                          guid="g2", feed_url="http://f"),  # changed
                  art("twice", guid="t"), Article(kind="feed", source="Wire", title="twice v2",
                                                  text="t", guid="t", feed_url="http://f")]
        r = s.upsert_articles(batch, t1)
        assert (r.seen, r.new, r.changed) == (604, 601, 2)  # "twice" is new, then changed
        assert r.new_keys[-1] == "guid:t" and len(set(r.new_keys)) == 601
        assert s.count_items() == 1301
        twice, old1, old2 = s.item("guid:t"), s.item("guid:g1"), s.item("guid:g2")
        assert twice is not None and twice.article.title == "twice v2" and twice.first_seen == t1
        assert old2 is not None and old2.article.title == "old 2, corrected"
        assert old1 is not None and old1.first_seen == T0 and old2.first_seen == T0
        seen = dict(s.db.execute("SELECT key, last_seen FROM items WHERE key IN (?, ?, ?)",
                                 ("guid:g1", "guid:g3", "guid:t")).fetchall())
        assert seen["guid:g1"] == seen["guid:t"] != seen["guid:g3"]  # g3 was not in the batch
