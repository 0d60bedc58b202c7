"""Hostile feeds (issue 8): each case served by a real HTTP server on 127.0.0.1.

One real ``newsletter build`` (a subprocess) runs over every hostile feed plus
two well-behaved ones; each test then checks its case in that build's outputs and
store: the run finished, the good feeds are in, the bad ones became one clear
error line or a best-effort parse, and nothing unsafe reached any output.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from newsletter.exceptions import FeedFetchError
from newsletter.ingest.feeds import FeedSource, parse_feed

from .conftest import REPO, run_cli
from .hostile_helpers import (HOSTILE, FeedServer, all_titles, audit_html, audit_text,
                              build_time, fill_placeholders, json_strings, serve, store_rows,
                              write_config)

SECRET = "SECRET-TOKEN-7f3a9c-local-file"
HUGE_ENTRIES = 10_000
CAP = 50  # newsletter.max_items_per_feed in this config

FILES = {  # feed name -> fixture
    "Good Wire": "good.rss",
    "Gute Quelle": "gute_quelle.atom",
    "Laughs": "billion_laughs.xml",
    "XXE": "xxe.xml",
    "XXE parameter": "xxe_parameter.xml",
    "HTML page": "html_page.xml",
    "Empty": "empty.xml",
    "Not XML": "not_xml.xml",
    "Latin-1 as UTF-8": "latin1_declared_utf8.xml",
    "Undeclared cp1252": "cp1252_undeclared.xml",
    "UTF-16": "utf16.xml",
    "Bogus encoding": "bogus_encoding.xml",
    "Truncated": "truncated.xml",
    "Dates": "dates.xml",
    "Dups": "duplicate_guids.xml",
    "Links": "links.xml",
    "XSS": "xss.xml",
}


def huge_feed(now: datetime) -> bytes:
    """Tens of thousands of entries, oldest first, so 'newest first' is not document order."""
    items = []
    for i in range(HUGE_ENTRIES):
        when = now - timedelta(days=3, minutes=HUGE_ENTRIES - i)
        items.append(f"<item><title>Entry {i}</title><link>https://huge.example/{i}</link>"
                     f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Huge'
            '</title><link>https://huge.example/</link>' + "".join(items) +
            "</channel></rss>").encode()


def deep_feed(depth: int = 100_000) -> bytes:
    """Deeply nested elements, in the XML itself and in the entry's (escaped) HTML."""
    nested_html = ("&lt;div&gt;" * depth) + "deep"
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>Deep</title>'
            '<link>https://deep.example/</link><item>'
            '<title>Deep nesting: hackers steal personal data in breach</title>'
            '<link>https://deep.example/1</link>'
            f'<description>Hackers stole personal data in a data breach. {nested_html}</description>'
            + "<x>" * depth + "</x>" * depth + "</item></channel></rss>").encode()


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    yield from serve()


@pytest.fixture(scope="module")
def built(server: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    now = build_time()
    tmp = tmp_path_factory.mktemp("hostile")
    secret = tmp / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    feeds = []
    for name, fixture in FILES.items():
        body = fill_placeholders((HOSTILE / fixture).read_bytes(), now, str(secret))
        ctype = "text/xml" if fixture == "cp1252_undeclared.xml" else "application/xml"
        feeds.append((name, server.add(f"/{fixture}", body, content_type=ctype)))
    feeds.append(("Huge", server.add("/huge.xml", huge_feed(now))))
    feeds.append(("Deep", server.add("/deep.xml", deep_feed())))
    feeds.append(("Gone", server.url("/missing.xml")))
    cfg = write_config(tmp / "proj", feeds, extra=f"max_items_per_feed: {CAP}", seeds=False)
    out = tmp / "out"
    r = run_cli("build", "--config", str(cfg), "--now", now.isoformat(), "--out", str(out),
                timeout=300)
    issue = Path(r.stdout.split()[0]).stem if r.stdout.strip() else ""
    docs = {ext: (out / f"{issue}.{ext}").read_text(encoding="utf-8")
            for ext in ("md", "html", "txt", "json")} if issue else {}
    return {"r": r, "docs": docs, "json": json.loads(docs["json"]) if docs else {},
            "state": cfg.parent / "state" / "state.sqlite3", "secret": secret, "now": now}


def errors_by_feed(built: dict[str, Any]) -> dict[str, str]:
    return {e["feed"]: e["error"] for e in built["json"]["feed_errors"]}


def titles(built: dict[str, Any]) -> list[str]:
    return all_titles(built["json"])


def stored(built: dict[str, Any], feed_path: str, *cols: str) -> list[tuple[Any, ...]]:
    return store_rows(built["state"], f"SELECT {', '.join(cols)} FROM items WHERE feed_url LIKE ?"
                      " ORDER BY title", f"%{feed_path}")


def story(built: dict[str, Any], needle: str) -> dict[str, Any]:
    hits = [s for s in built["json"]["stories"] if needle.lower() in s["title"].lower()]
    assert len(hits) == 1, (needle, titles(built))
    return hits[0]


# --- the run as a whole ---------------------------------------------------------------


def test_run_finishes_and_the_good_feeds_are_in(built: dict[str, Any]) -> None:
    r = built["r"]
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stdout.split()) == 4
    assert any("Acme Bank" in t for t in titles(built))
    assert any("Gesichtserkennung" in t for t in titles(built))


def test_each_failing_feed_is_one_stderr_line_and_in_the_json(built: dict[str, Any]) -> None:
    failing = {"Laughs", "XXE", "XXE parameter", "HTML page", "Empty", "Not XML", "Gone"}
    assert set(errors_by_feed(built)) == failing
    lines = [ln for ln in built["r"].stderr.splitlines() if ln.startswith("feed failed:")]
    assert sorted(ln.split(": ", 1)[1].split(" (")[0] for ln in lines) == sorted(failing)


@pytest.mark.parametrize("ext", ["html", "md", "txt", "json"])
def test_outputs_are_clean(built: dict[str, Any], ext: str) -> None:
    text = built["docs"][ext]
    problems = audit_text(text, ext, markup=ext != "html")
    if ext == "html":
        html_problems, hrefs = audit_html(text)
        problems += html_problems
        assert "https://xss.example/spyware?ref=ok" in hrefs  # the link survives, cleaned
    if ext == "json":
        for s in json_strings(json.loads(text)):
            problems += audit_text(s, "json string")
    assert problems == []


# --- hostile XML ----------------------------------------------------------------------


def test_billion_laughs_refused(built: dict[str, Any]) -> None:
    assert "declares XML entities" in errors_by_feed(built)["Laughs"]
    assert not any("lol" in t for t in titles(built))


@pytest.mark.parametrize("feed", ["XXE", "XXE parameter"])
def test_external_entities_refused_and_no_local_file_leaks(built: dict[str, Any],
                                                           feed: str) -> None:
    assert "declares XML entities" in errors_by_feed(built)[feed]
    for doc in built["docs"].values():
        assert SECRET not in doc
    db = sqlite3.connect(built["state"])
    dump = "\n".join(db.iterdump())
    db.close()
    assert SECRET not in dump


def test_feedparser_alone_never_expands_entities(tmp_path: Path) -> None:
    """Defence in depth: even without our refusal, feedparser's expat reads no file and
    expands no entity bomb (it strips the DTD; external general entities are off)."""
    import feedparser

    secret = tmp_path / "s.txt"
    secret.write_text(SECRET, encoding="utf-8")
    now = build_time()
    for fixture in ("xxe.xml", "xxe_parameter.xml", "billion_laughs.xml"):
        body = fill_placeholders((HOSTILE / fixture).read_bytes(), now, str(secret))
        for broken in (False, True):  # strict (expat) and loose parser paths
            doc = body.replace(b"</channel>", b"<x a=></channel>") if broken else body
            parsed = feedparser.parse(doc)
            text = json.dumps(parsed, default=str)
            assert SECRET not in text
            assert len(text) < 20_000


def test_deep_nesting_is_parsed_best_effort(built: dict[str, Any]) -> None:
    assert "Deep" not in errors_by_feed(built)
    s = story(built, "Deep nesting")
    assert s["url"] == "https://deep.example/1"


def test_huge_feed_is_capped_newest_first(built: dict[str, Any]) -> None:
    rows = stored(built, "/huge.xml", "url")
    assert len(rows) == CAP
    kept = sorted(int(u.rsplit("/", 1)[1]) for (u,) in rows)
    assert kept == list(range(HUGE_ENTRIES - CAP, HUGE_ENTRIES))  # the newest, not the first


def test_parse_feed_cap_is_a_parameter() -> None:
    body = huge_feed(build_time())[:200_000].rsplit(b"<item>", 1)[0] + b"</channel></rss>"
    src = FeedSource("Huge", "http://127.0.0.1/huge.xml")
    assert len(parse_feed(body, src)) == 200  # the default
    assert len(parse_feed(body, src, max_items=7)) == 7
    assert len(parse_feed(body, FeedSource("Huge", src.url, max_items=3))) == 3


@pytest.mark.parametrize("feed,needle", [
    ("Latin-1 as UTF-8", "Datenschutzbehörde prüft Datenleck"),
    ("Undeclared cp1252", "“Smart” TV maker sells viewing data"),
    ("UTF-16", "Spyware found on journalists"),
    ("Bogus encoding", "Dating app leaks location data"),
])
def test_wrong_or_missing_encodings_are_read(built: dict[str, Any], feed: str, needle: str) -> None:
    assert feed not in errors_by_feed(built)
    assert any(needle in t for t in titles(built)), titles(built)


def test_truncated_document_keeps_the_complete_entries(built: dict[str, Any]) -> None:
    assert "Truncated" not in errors_by_feed(built)
    assert any("Hospital data breach" in t for t in titles(built))
    assert any("School app leaks" in t for t in titles(built))


@pytest.mark.parametrize("feed,message", [
    ("HTML page", "not a feed: got an HTML page"),
    ("Empty", "not a feed: the response body is empty"),
    ("Not XML", "not a feed"),
    ("Gone", "404"),
])
def test_not_a_feed_is_a_clear_error(built: dict[str, Any], feed: str, message: str) -> None:
    assert message in errors_by_feed(built)[feed]


# --- dates and identity -----------------------------------------------------------------


def test_dates_out_of_range_become_null_and_items_stay(built: dict[str, Any]) -> None:
    for needle in ("Far future", "Epoch date", "Year 1985", "Garbage date", "No date"):
        assert story(built, needle)["published"] is None, needle
    for (pub,) in store_rows(built["state"], "SELECT published FROM items"):
        if pub:
            assert datetime(1990, 1, 1, tzinfo=timezone.utc) <= datetime.fromisoformat(pub) \
                <= built["now"] + timedelta(seconds=5)


def test_duplicate_guid_in_one_feed_is_one_item(built: dict[str, Any]) -> None:
    rows = stored(built, "/duplicate_guids.xml", "key", "title")
    airline = [r for r in rows if "Airline" in r[1]]
    assert len(airline) == 1
    assert sum("Airline breach" in t for t in titles(built)) == 1


def test_guid_shared_by_different_links_does_not_merge_them(built: dict[str, Any]) -> None:
    keys = {title: key for key, title in stored(built, "/duplicate_guids.xml", "key", "title")}
    gym = next(k for t, k in keys.items() if "Gym" in t)
    cars = next(k for t, k in keys.items() if "Car maker" in t)
    assert gym == "url:https://dups.example/gym" and cars == "url:https://dups.example/cars"


def test_relative_link_resolved_against_the_feed_and_cleaned(built: dict[str, Any]) -> None:
    assert story(built, "bans TikTok")["url"] == "https://links.example/2026/tiktok-ban?id=7"


def test_items_without_usable_links_are_kept_without_a_link(built: dict[str, Any]) -> None:
    for needle in ("backdoor law", "tracking pixel", "doorbell"):
        assert story(built, needle)["url"] is None, needle
    html = built["docs"]["html"]
    assert "javascript:" not in html and "data:text" not in html


def test_long_titles_and_texts_are_truncated(built: dict[str, Any]) -> None:
    s = story(built, "Enormous headline")
    assert len(s["title"]) <= 300 and s["title"].endswith("…")
    (text,) = [t for (t,) in store_rows(built["state"], "SELECT text FROM items WHERE url = ?",
                                        "https://xss.example/long")]
    assert len(text) <= 20_000


def test_markup_in_titles_is_text_and_controls_are_gone(built: dict[str, Any]) -> None:
    s = story(built, "Spyware vendor")
    assert "<" not in s["title"] and "alert" not in s["title"]
    assert s["url"] == "https://xss.example/spyware?ref=ok"
    (text,) = [t for (t,) in store_rows(built["state"], "SELECT text FROM items WHERE url = ?",
                                        s["url"])]
    assert "alert(" not in text and "display:none" not in text
    assert "State surveillance spyware vendor hacked." in text


def test_cli_output_has_no_traceback_for_any_case(built: dict[str, Any]) -> None:
    assert "Traceback" not in built["r"].stderr
    assert str(REPO) not in built["r"].stderr  # no internal paths in the messages


def test_parse_feed_errors_are_feed_errors() -> None:
    src = FeedSource("X", "http://127.0.0.1/x")
    for body in (b"", b"   ", b"\x00\x01\x02" * 100, b"<html><body>hi</body></html>"):
        with pytest.raises(FeedFetchError) as e:
            parse_feed(body, src)
        assert e.value.url == src.url and e.value.detail.startswith("not a feed")


def test_links_from_old_state_and_seeds_are_checked_on_output(tmp_path: Path) -> None:
    """A row written by an older version, or a seed's front matter, with a javascript: or
    tracking link: the digest shows no link or a clean one."""
    from newsletter.store import Store
    from newsletter.types import Article

    now = build_time()
    proj = tmp_path / "proj"
    (proj / "seeds").mkdir(parents=True)
    (proj / "seeds" / "a.md").write_text(
        "---\ntitle: Spyware found on phones of journalists\nurl: javascript:alert(1)\n---\n"
        "State spyware was found on the phones of journalists, a surveillance scandal.\n",
        encoding="utf-8")
    cfg = write_config(proj, [])
    with Store(proj / "state" / "state.sqlite3") as store:
        store.upsert_articles([Article(
            kind="feed", source="Old", title="Regulator fines Beta Corp over data breach",
            text="The data protection authority fined Beta Corp after a data breach.",
            url="javascript:alert(document.domain)", guid="old-1", feed_url="http://old/")
        ] + [Article(
            kind="feed", source="Old", title="Police use facial recognition at stadium",
            text="Police used facial recognition, a surveillance practice.",
            url="https://old.example/a?utm_source=x&fbclid=y&id=3", guid="old-2",
            feed_url="http://old/")], now)
    out = tmp_path / "out"
    r = run_cli("build", "--offline", "--config", str(cfg), "--now", now.isoformat(),
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    docs = {p.rsplit(".", 1)[1]: Path(p).read_text(encoding="utf-8") for p in r.stdout.split()}
    problems, hrefs = audit_html(docs["html"])
    assert problems == []
    assert "https://old.example/a?id=3" in hrefs
    for ext, text in docs.items():
        assert audit_text(text, ext, markup=ext != "html") == []
    doc = json.loads(docs["json"])
    assert {s["title"]: s["url"] for s in doc["stories"]}[
        "Regulator fines Beta Corp over data breach"] is None
