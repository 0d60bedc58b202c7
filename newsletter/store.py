"""The SQLite state: every item ever seen, feed health, built issues, deliveries.

One file (the config's ``state``), WAL mode, every write in a transaction, so a
kill at any moment leaves the previous consistent state. The schema is versioned
with ``PRAGMA user_version`` and migrated forward step by step, as in
lemon24/reader's ``_storage/_schema.py``: append to ``MIGRATIONS``, never edit a
released step.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .exceptions import StoreError
from .types import Article, Item

MIGRATIONS: list[str] = [
    # 1: the foundation
    """
    CREATE TABLE items (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        feed_url TEXT,
        guid TEXT,
        url TEXT,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        language TEXT NOT NULL,
        published TEXT,
        body_markdown TEXT,
        content_hash TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        issue TEXT
    );
    CREATE INDEX items_first_seen ON items (first_seen);
    CREATE INDEX items_issue ON items (issue);
    CREATE INDEX items_url ON items (url);
    CREATE TABLE issues (
        issue TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        built_at TEXT NOT NULL,
        files TEXT NOT NULL,
        stories INTEGER NOT NULL,
        alerts INTEGER NOT NULL
    );
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_attempt TEXT,
        last_success TEXT,
        status INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        items_last INTEGER,
        moved_to TEXT,
        retry_after TEXT
    );
    CREATE TABLE deliveries (
        issue TEXT NOT NULL,
        recipient TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        message_id TEXT,
        PRIMARY KEY (issue, recipient)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        ok INTEGER
    );
    """,
    # 2: feed health (issue 3): since when a feed has failed without a success in between,
    # for the digest footer's "failing for more than a week"
    """
    ALTER TABLE feeds ADD COLUMN failing_since TEXT
    """,
    # 3: deliveries that failed (issue 6): owed until sent, so the next `run` delivers them
    """
    CREATE TABLE delivery_failures (
        issue TEXT NOT NULL,
        recipient TEXT NOT NULL,
        failed_at TEXT NOT NULL,
        error TEXT NOT NULL,
        PRIMARY KEY (issue, recipient)
    )
    """,
    # 4: build caches (issue 3, warm builds): tags per item text and tagger fingerprint,
    # merge groups per fingerprint of the merge inputs (newsletter/cache.py)
    """
    CREATE TABLE tag_cache (
        item_hash TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        result TEXT NOT NULL,
        used_at TEXT NOT NULL,
        PRIMARY KEY (fingerprint, item_hash)
    ) WITHOUT ROWID;
    CREATE TABLE merge_cache (
        fingerprint TEXT PRIMARY KEY,
        groups TEXT NOT NULL,
        used_at TEXT NOT NULL
    )
    """,
]


def to_iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def from_iso(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


_KEYS_PER_QUERY = 500  # host parameters per SELECT ... IN (the oldest SQLite allows 999)


def content_hash(a: Article) -> str:
    return hashlib.sha256(f"{a.title}\n{a.text}\n{a.url}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class UpsertResult:
    seen: int  # articles given
    new: int  # of those, never seen before
    new_keys: tuple[str, ...]
    changed: int = 0  # known items whose content changed (title, text or link)


@dataclass(frozen=True)
class IssueRecord:
    issue: str
    title: str
    period_start: datetime
    period_end: datetime
    built_at: datetime
    files: tuple[str, ...]
    stories: int
    alerts: int


class Store:
    """A connection to the state file; use as a context manager."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot open the state database: {e}") from e

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: all or nothing, and one writer at a time.

        Inside another transaction it joins that one: many small writes (a feed's health,
        200 feeds) then cost one commit, not one each."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: schema version {version} is newer than this "
                             f"program knows ({len(MIGRATIONS)}); upgrade newsletter")
        for i in range(version, len(MIGRATIONS)):
            with self.transaction() as db:
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                db.execute(f"PRAGMA user_version = {i + 1}")

    # --- items ----------------------------------------------------------------------

    def upsert_articles(self, articles: Iterable[Article], now: datetime) -> UpsertResult:
        """Record articles; a known item keeps its first-seen time and its issue.

        The stored hashes are read in a few queries and the writes go in batches (a cold
        build stores 10,000 items: two statements per item were a tenth of what follows
        its fetch). Inserts go first, so an item given twice is inserted, then updated."""
        now_s = to_iso(now)
        keyed = [(a.key, a) for a in articles]  # an identity costs a canonical link: once each
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        touches: list[tuple[object, ...]] = []
        new_keys: list[str] = []
        changed = 0
        with self.transaction() as db:
            known: dict[str, str] = {}
            keys = list(dict.fromkeys(k for k, _ in keyed))
            for i in range(0, len(keys), _KEYS_PER_QUERY):
                chunk = keys[i: i + _KEYS_PER_QUERY]
                known.update(db.execute(
                    "SELECT key, content_hash FROM items WHERE key IN"
                    f" ({','.join('?' * len(chunk))})", chunk).fetchall())
            for key, a in keyed:
                h = content_hash(a)
                old = known.get(key)
                if old is None:
                    inserts.append((key, a.kind, a.source, a.feed_url, a.guid, a.url, a.title,
                                    a.text, a.language, to_iso(a.published), a.body_markdown, h,
                                    now_s, now_s))
                    new_keys.append(key)
                elif old != h:
                    changed += 1
                    updates.append((a.source, a.url, a.title, a.text, a.language,
                                    to_iso(a.published), a.body_markdown, h, now_s, key))
                else:
                    touches.append((now_s, key))
                known[key] = h
            db.executemany(
                "INSERT INTO items (key, kind, source, feed_url, guid, url, title, text,"
                " language, published, body_markdown, content_hash, first_seen, last_seen)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", inserts)
            db.executemany(
                "UPDATE items SET source=?, url=?, title=?, text=?, language=?,"
                " published=COALESCE(?, published), body_markdown=?, content_hash=?,"
                " last_seen=? WHERE key=?", updates)
            db.executemany("UPDATE items SET last_seen=? WHERE key=?", touches)
        return UpsertResult(seen=len(keyed), new=len(new_keys), new_keys=tuple(new_keys),
                            changed=changed)

    @staticmethod
    def _item(row: sqlite3.Row) -> Item:
        a = Article(kind=row["kind"], source=row["source"], title=row["title"], text=row["text"],
                    url=row["url"], published=from_iso(row["published"]),
                    language=row["language"], guid=row["guid"], feed_url=row["feed_url"],
                    body_markdown=row["body_markdown"])
        first = from_iso(row["first_seen"])
        assert first is not None
        return Item(key=row["key"], article=a, first_seen=first, issue=row["issue"])

    def items_for_issue(self, issue: str, period_end: datetime) -> list[Item]:
        """This issue's items plus every item not yet in an issue and first seen before the end.

        Which of the unassigned ones go in is decided by ``select.select_items``
        (pure); this only narrows the rows read.
        """
        rows = self.db.execute(
            "SELECT * FROM items WHERE issue = ? OR (issue IS NULL AND first_seen <= ?)"
            " ORDER BY first_seen, key", (issue, to_iso(period_end))).fetchall()
        return [self._item(r) for r in rows]

    def item(self, key: str) -> Item | None:
        row = self.db.execute("SELECT * FROM items WHERE key = ?", (key,)).fetchone()
        return self._item(row) if row else None

    def count_items(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM items").fetchone()[0])

    # --- issues ---------------------------------------------------------------------

    def record_issue(self, rec: IssueRecord, keys: Sequence[str]) -> None:
        """Mark the issue built and its items used, in one transaction (after its files exist)."""
        with self.transaction() as db:
            # only the rows whose issue changes: a rebuild of the same items writes none
            old = {r[0] for r in db.execute("SELECT key FROM items WHERE issue = ?", (rec.issue,))}
            db.executemany("UPDATE items SET issue = NULL WHERE key = ?",
                           [(k,) for k in old.difference(keys)])
            db.executemany("UPDATE items SET issue = ? WHERE key = ?",
                           [(rec.issue, k) for k in dict.fromkeys(keys) if k not in old])
            db.execute(
                "INSERT OR REPLACE INTO issues (issue, title, period_start, period_end, built_at,"
                " files, stories, alerts) VALUES (?,?,?,?,?,?,?,?)",
                (rec.issue, rec.title, to_iso(rec.period_start), to_iso(rec.period_end),
                 to_iso(rec.built_at), json.dumps(list(rec.files)), rec.stories, rec.alerts))

    def issues(self) -> list[IssueRecord]:
        """Built issues, newest period first."""
        rows = self.db.execute("SELECT * FROM issues ORDER BY period_end DESC, issue DESC")
        out = []
        for r in rows:
            out.append(IssueRecord(
                issue=r["issue"], title=r["title"], period_start=from_iso(r["period_start"]),  # type: ignore[arg-type]
                period_end=from_iso(r["period_end"]), built_at=from_iso(r["built_at"]),  # type: ignore[arg-type]
                files=tuple(json.loads(r["files"])), stories=r["stories"], alerts=r["alerts"]))
        return out

    # --- build caches (newsletter/cache.py) ----------------------------------------------

    def cached_tags(self, fingerprint: str, keys: Iterable[str]) -> dict[str, str]:
        """Encoded tag results of the given item hashes, for this tagger fingerprint."""
        wanted = set(keys)
        rows = self.db.execute("SELECT item_hash, result FROM tag_cache WHERE fingerprint = ?",
                               (fingerprint,))
        return {h: r for h, r in rows if h in wanted}

    def cache_tags(self, fingerprint: str, new: dict[str, str], used: Iterable[str],
                   now: datetime, forget_before: datetime) -> None:
        """Store new results, mark the used ones, drop entries unused since ``forget_before``."""
        now_s = to_iso(now)
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO tag_cache (item_hash, fingerprint, result,"
                           " used_at) VALUES (?,?,?,?)",
                           [(h, fingerprint, r, now_s) for h, r in new.items()])
            db.executemany("UPDATE tag_cache SET used_at = ? WHERE fingerprint = ? AND"
                           " item_hash = ? AND used_at < ?",
                           [(now_s, fingerprint, h, now_s) for h in set(used) - new.keys()])
            db.execute("DELETE FROM tag_cache WHERE used_at < ?", (to_iso(forget_before),))

    def cached_groups(self, fingerprint: str) -> str | None:
        row = self.db.execute("SELECT groups FROM merge_cache WHERE fingerprint = ?",
                              (fingerprint,)).fetchone()
        return row[0] if row else None

    def cache_groups(self, fingerprint: str, groups: str, now: datetime,
                     forget_before: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO merge_cache (fingerprint, groups, used_at)"
                       " VALUES (?,?,?)", (fingerprint, groups, to_iso(now)))
            db.execute("DELETE FROM merge_cache WHERE used_at < ?", (to_iso(forget_before),))

    # --- feeds ----------------------------------------------------------------------

    def feed_state(self, url: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()

    def record_feed(self, *, url: str, name: str, now: datetime, ok: bool, status: int | None,
                    error: str | None, items: int | None, etag: str | None = None,
                    last_modified: str | None = None, moved_to: str | None = None,
                    retry_after: datetime | None = None) -> None:
        now_s = to_iso(now)
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO feeds (url, name) VALUES (?, ?)", (url, name))
            if ok:
                db.execute(
                    "UPDATE feeds SET name=?, last_attempt=?, last_success=?, status=?, failures=0,"
                    " last_error=NULL, items_last=COALESCE(?, items_last),"
                    " etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified),"
                    " moved_to=COALESCE(?, moved_to), retry_after=?, failing_since=NULL WHERE url=?",
                    (name, now_s, now_s, status, items, etag, last_modified, moved_to,
                     to_iso(retry_after), url))
            else:
                db.execute(
                    "UPDATE feeds SET name=?, last_attempt=?, status=?, failures=failures+1,"
                    " last_error=?, retry_after=?, failing_since=COALESCE(failing_since, ?),"
                    " moved_to=COALESCE(?, moved_to) WHERE url=?",
                    (name, now_s, status, error, to_iso(retry_after), now_s, moved_to, url))

    def feeds(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM feeds ORDER BY name").fetchall()

    # --- deliveries and runs (issue 6) ------------------------------------------------

    def delivered_to(self, issue: str) -> dict[str, datetime]:
        """Recipients (lower-cased) who have this issue, with when it was sent."""
        rows = self.db.execute("SELECT recipient, sent_at FROM deliveries WHERE issue = ?",
                               (issue,)).fetchall()
        return {r["recipient"].lower(): from_iso(r["sent_at"]) for r in rows}  # type: ignore[misc]

    def record_delivery(self, issue: str, recipient: str, sent_at: datetime,
                        message_id: str | None) -> None:
        """Committed right after the server accepted the message, before the next recipient."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO deliveries (issue, recipient, sent_at, message_id)"
                       " VALUES (?,?,?,?)", (issue, recipient.lower(), to_iso(sent_at), message_id))
            db.execute("DELETE FROM delivery_failures WHERE issue = ? AND recipient = ?",
                       (issue, recipient.lower()))

    def record_delivery_failure(self, issue: str, recipient: str, failed_at: datetime,
                                error: str) -> None:
        """The issue is owed to the recipient until a later send succeeds."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO delivery_failures (issue, recipient, failed_at, error)"
                       " VALUES (?,?,?,?)", (issue, recipient.lower(), to_iso(failed_at), error))

    def owed_issues(self) -> list[str]:
        """Issues whose delivery failed for someone and has not succeeded since, oldest first."""
        rows = self.db.execute(
            "SELECT DISTINCT f.issue FROM delivery_failures f JOIN issues i ON i.issue = f.issue"
            " WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = f.issue"
            " AND d.recipient = f.recipient) ORDER BY i.period_end").fetchall()
        return [r[0] for r in rows]

    def start_run(self, command: str, started_at: datetime) -> int:
        with self.transaction() as db:
            cur = db.execute("INSERT INTO runs (command, started_at) VALUES (?, ?)",
                             (command, to_iso(started_at)))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, finished_at: datetime, ok: bool) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, ok = ? WHERE id = ?",
                       (to_iso(finished_at), int(ok), run_id))

    def last_successful_run(self, command: str) -> datetime | None:
        """When the newest successful ``command`` run started (the scheduler's memory)."""
        row = self.db.execute("SELECT max(started_at) FROM runs WHERE command = ? AND ok = 1",
                              (command,)).fetchone()
        return from_iso(row[0]) if row and row[0] else None
