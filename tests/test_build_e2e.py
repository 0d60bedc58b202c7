"""End to end: a real HTTP server serving RSS and Atom plus a failing feed, a real build.

The seeds are the user's two articles; the feeds are fixtures in tests/data/e2e.
"""

from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import DATA, run_cli, write_config

NOW = "2026-11-23T07:00:00+01:00"
NEXT_WEEK = "2026-11-30T07:00:00+01:00"


def make_config(project: Path, base: str, *, broken: bool = True) -> Path:
    """The two e2e feeds served from ``base``, and (``broken``) one that is not there."""
    missing = f"""  - name: Broken feed
    url: {base}/missing.xml
""" if broken else ""
    return write_config(project, f"""\
newsletter:
  title: Privacy Alerts
  timezone: Europe/Berlin
  period_days: 7
  max_age_days: 14
  output_dir: digests
  state: .newsletter/state.sqlite3
seeds: seeds
watchlist: [TikTok, ByteDance]
feeds:
  - name: Privacy Wire
    url: {base}/privacy_en.rss
  - name: Datenschutz-Ticker
    url: {base}/datenschutz_de.atom
{missing}""")


def edit_feed(root: Path, old: str, new: str, name: str = "privacy_en.rss") -> None:
    """Change a served feed for a rebuild. Its mtime moves on 10 s: the server's
    Last-Modified has whole seconds, so two builds within one second would get a 304."""
    feed = root / name
    feed.write_text(feed.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    later = feed.stat().st_mtime + 10
    os.utime(feed, (later, later))


@pytest.fixture
def built(project: Path, http_dir: tuple[str, Path], tmp_path: Path) -> dict:
    base, root = http_dir
    for f in (DATA / "e2e").iterdir():
        shutil.copy(f, root / f.name)
    cfg = make_config(project, base)
    out = tmp_path / "out"
    r = run_cli("build", "--config", str(cfg), "--now", NOW, "--out", str(out))
    assert r.returncode == 0, r.stderr
    paths = r.stdout.split()
    return {"cfg": cfg, "out": out, "paths": paths, "stderr": r.stderr, "project": project,
            "json": json.loads((out / "2026-W48.json").read_text(encoding="utf-8"))}


def by_title(doc: dict, needle: str) -> dict:
    hits = [s for s in doc["stories"] if needle.lower() in s["title"].lower()]
    assert len(hits) == 1, [s["title"] for s in doc["stories"]]
    return hits[0]


def test_writes_four_files_and_prints_their_paths(built: dict) -> None:
    out = built["out"]
    assert built["paths"] == [str(out / f"2026-W48.{ext}") for ext in ("md", "html", "txt", "json")]
    for p in built["paths"]:
        assert Path(p).stat().st_size > 0
    assert "1/3 feeds failed" in built["stderr"]


def test_json_follows_the_contract(built: dict) -> None:
    doc = built["json"]
    assert doc["issue"] == "2026-W48"
    assert doc["title"] == "Privacy Alerts"
    assert doc["period"]["end"].startswith("2026-11-23T06:00:00")
    assert doc["period"]["start"].startswith("2026-11-16T06:00:00")
    for s in doc["stories"]:
        assert set(s) >= {"id", "title", "url", "source", "published", "language", "topics",
                          "watchlist", "summary", "also"}
        assert s["topics"], s["title"]


def test_feed_error_reported_and_other_feeds_in(built: dict) -> None:
    doc = built["json"]
    assert [e["feed"] for e in doc["feed_errors"]] == ["Broken feed"]
    assert "404" in doc["feed_errors"][0]["error"]
    assert "Broken feed" in built["stderr"]
    by_title(doc, "Meta")
    by_title(doc, "Gesichtserkennung")


def test_feed_stories_tagged_and_cleaned(built: dict) -> None:
    doc = built["json"]
    meta = by_title(doc, "fines Meta")
    assert "enforcement" in meta["topics"]
    assert meta["url"] == "https://privacy-wire.example/2026/11/meta-fine"  # utm_* stripped
    breach = by_title(doc, "Hospital chain")
    assert "breaches" in breach["topics"]
    face = by_title(doc, "Gesichtserkennung")
    assert "surveillance" in face["topics"] and face["language"] == "de"
    ban = by_title(doc, "verbietet TikTok")
    assert ban["url"] == "https://ticker.example/2026/11/tiktok-verbot"  # relative link resolved
    assert "bans" in ban["topics"] and ban["watchlist"] == ["TikTok"]


def test_non_privacy_and_too_old_items_stay_out(built: dict) -> None:
    titles = " ".join(s["title"] for s in built["json"]["stories"])
    assert "pancake" not in titles.lower()
    assert "cookies explained" not in titles  # published long before max_age_days
    md = Path(built["out"] / "2026-W48.md").read_text(encoding="utf-8")
    assert "not privacy news" in md


def test_seeds_tagged_with_alerts(built: dict) -> None:
    doc = built["json"]
    taz = by_title(doc, "Datenschutzskandal bei Tiktok")
    assert taz["title"] == "Datenschutzskandal bei Tiktok: Zugriff auf Daten von Journalisten"
    assert "data-access" in taz["topics"]
    assert set(taz["watchlist"]) == {"TikTok", "ByteDance"}
    assert taz["source"] == "taz" and taz["language"] == "de"
    clover = by_title(doc, "TikTok möchte Vertrauen")
    assert {"data-localization", "bans"} <= set(clover["topics"])
    assert "TikTok" in clover["watchlist"]
    alerts = [s for s in doc["stories"] if s.get("section") == "alerts"]
    assert {s["id"] for s in alerts} >= {taz["id"], clover["id"]}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2 and data.strip():
            self.h2.append(data.strip())


def test_markdown_and_html_sections(built: dict) -> None:
    out = built["out"]
    md = (out / "2026-W48.md").read_text(encoding="utf-8")
    assert "# Privacy Alerts — 2026-W48" in md
    assert md.index("## Alerts") < md.index("Datenschutzskandal")
    assert "Broken feed" in md
    assert "Why:" in md
    html = (out / "2026-W48.html").read_text(encoding="utf-8")
    c = _Collector()
    c.feed(html)
    sections = [h for h in c.h2 if not h.lower().startswith("in this issue")]
    assert sections[0] == "Alerts" and sections[1] == "Top stories"
    tags = [t for t, _ in c.tags]
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    for _, attrs in c.tags:
        for k, v in attrs.items():
            assert not k.startswith("on")
            if k in ("href", "src"):
                assert v and not v.startswith(("javascript:", "data:")) and "utm_" not in v
    assert "tracker.example" not in html
    assert 'lang="de"' in html
    txt = (out / "2026-W48.txt").read_text(encoding="utf-8")
    assert "ALERTS" in txt and "Datenschutzskandal" in txt


def test_seed_body_free_of_boilerplate(built: dict) -> None:
    md = (built["out"] / "2026-W48.md").read_text(encoding="utf-8")
    html = (built["out"] / "2026-W48.html").read_text(encoding="utf-8")
    for doc in (md, html):
        for junk in ("piwik", "Jetzt unterstützen", "Kommentare", "Foto: Kiichiro",
                     "Vogel Communications Group GmbH", "Bitte beachten Sie", "Mehr zum Thema"):
            assert junk not in doc, junk


def test_second_build_next_week_does_not_repeat(built: dict, tmp_path: Path) -> None:
    out2 = tmp_path / "out2"
    r = run_cli("build", "--config", str(built["cfg"]), "--now", NEXT_WEEK, "--out", str(out2))
    assert r.returncode == 0, r.stderr
    doc = json.loads((out2 / "2026-W49.json").read_text(encoding="utf-8"))
    assert doc["stories"] == []
    # Rebuilding the first week keeps its stories (the issue owns them).
    out3 = tmp_path / "out3"
    r = run_cli("build", "--config", str(built["cfg"]), "--now", NOW, "--out", str(out3))
    assert r.returncode == 0, r.stderr
    again = json.loads((out3 / "2026-W48.json").read_text(encoding="utf-8"))
    assert {s["id"] for s in again["stories"]} == {s["id"] for s in built["json"]["stories"]}


def test_offline_build_uses_seeds_and_store_only(project: Path, tmp_path: Path) -> None:
    cfg = make_config(project, "http://127.0.0.1:9")  # nothing listens there
    r = run_cli("build", "--offline", "--config", str(cfg), "--now", NOW)
    assert r.returncode == 0, r.stderr
    doc = json.loads((project / "digests" / "2026-W48.json").read_text(encoding="utf-8"))
    assert doc["feed_errors"] == []
    assert len(doc["stories"]) == 2


def test_intro_and_markdown_seed_rendered_safely(project: Path, tmp_path: Path) -> None:
    (project / "intro.md").write_text(
        "This week: **two** alerts.\n\n<script>alert(1)</script>[x](javascript:alert(1))\n",
        encoding="utf-8")
    (project / "seeds" / "note.md").write_text(
        "---\ntitle: Datenschutzbehörde verhängt Bußgeld gegen Auskunftei\nsource: Own notes\n"
        "url: https://notes.example/a?utm_campaign=x\n---\n"
        "Die Datenschutzbehörde hat gegen eine Auskunftei ein **Bußgeld** von 2 Millionen Euro "
        "verhängt.\n\n- Grund: unzulässige Speicherung\n- <img src=https://t.example/p.gif>\n",
        encoding="utf-8")
    cfg = make_config(project, "http://127.0.0.1:9")
    cfg.write_text(cfg.read_text().replace("  max_age_days: 14\n",
                                           "  max_age_days: 14\n  intro: intro.md\n"))
    r = run_cli("build", "--offline", "--config", str(cfg), "--now", NOW, "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "o" / "2026-W48.html").read_text(encoding="utf-8")
    assert "<strong>two</strong>" in html
    assert "<strong>Bußgeld</strong>" in html and "<li>Grund: unzulässige Speicherung</li>" in html
    assert "<script>alert" not in html and "javascript:" not in html
    assert "t.example" not in html and "utm_campaign" not in html
    doc = json.loads((tmp_path / "o" / "2026-W48.json").read_text(encoding="utf-8"))
    note = by_title(doc, "Auskunftei")
    assert note["url"] == "https://notes.example/a" and "enforcement" in note["topics"]
    md = (tmp_path / "o" / "2026-W48.md").read_text(encoding="utf-8")
    assert "This week: **two** alerts." in md
    assert "<script>" not in md and "javascript:" not in md
