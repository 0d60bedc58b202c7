"""The static archive (issue 7): index.html and an Atom feed.xml, rewritten by every build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser
import pytest

from newsletter.archive import FEED_NAME, INDEX_NAME, scan_issues, write_archive

from .archive_fixtures import TZ, write_sample_issues
from .conftest import run_cli, write_config


def test_three_issues_are_listed_newest_first_with_counts(tmp_path: Path) -> None:
    out = tmp_path / "digests"
    ids = write_sample_issues(out, weeks=3)
    assert ids == ["2026-W46", "2026-W47", "2026-W48"]
    index = (out / INDEX_NAME).read_text(encoding="utf-8")
    positions = [index.index(f'href="{i}.html"') for i in reversed(ids)]
    assert positions == sorted(positions), "newest issue first"
    assert index.count("2 alerts") == 3 and index.count("8 stories") == 3
    for i in ids:  # every format one click away, with link text that names the issue
        assert f'<a href="{i}.txt">plain text ({i})</a>' in index
        assert f'<a href="{i}.md">Markdown ({i})</a>' in index
    assert 'type="application/atom+xml"' in index and f'href="{FEED_NAME}"' in index


def test_atom_feed_parses_back_with_stable_ids(tmp_path: Path) -> None:
    out = tmp_path / "digests"
    ids = write_sample_issues(out, weeks=3)
    feed = feedparser.parse((out / FEED_NAME).read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Privacy Alerts"
    assert feed.feed.id.startswith("urn:uuid:")
    entries = feed.entries
    assert [e.link for e in entries] == [f"{i}.html" for i in reversed(ids)]
    newest = entries[0]
    assert newest.title == "Privacy Alerts 2026-W48 (2026-11-16 to 2026-11-23)"
    assert newest.summary.startswith("2026-11-16 to 2026-11-23. 2 alerts, 8 stories: ")
    assert "Video app's parent firm" in newest.summary
    html = newest.content[0].value
    assert "<h1" in html and "Landesbehörde verbietet Kurzvideo-App" in html
    assert "<body" not in html and "<style" not in html  # the body, with its CSS inlined
    assert 'style="' in html
    assert newest.updated_parsed[:4] == (2026, 11, 23, 6)

    # Rebuilding rewrites the feed with the same ids: a reader never shows an issue twice.
    first_ids = [e.id for e in entries]
    assert len(set(first_ids)) == 3
    write_archive(out, title="Privacy Alerts", tz=TZ)
    assert [e.id for e in feedparser.parse((out / FEED_NAME).read_bytes()).entries] == first_ids


def test_stray_and_broken_files_are_not_archived(tmp_path: Path) -> None:
    out = tmp_path / "digests"
    write_sample_issues(out, weeks=1)
    (out / "notes.json").write_text("{}", encoding="utf-8")
    (out / "2026-W01.json").write_text("{not json", encoding="utf-8")
    (out / "2026-W02.json").write_text(json.dumps({"issue": "2026-W03"}), encoding="utf-8")
    assert [s.issue for s in scan_issues(out)] == ["2026-W46"]
    write_archive(out, title="Privacy Alerts", tz=TZ)
    assert len(feedparser.parse((out / FEED_NAME).read_bytes()).entries) == 1


def test_empty_folder_gives_a_valid_empty_archive(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    write_archive(out, title="Privacy Alerts", tz=TZ)
    assert "No issue has been built yet." in (out / INDEX_NAME).read_text(encoding="utf-8")
    feed = feedparser.parse((out / FEED_NAME).read_bytes())
    assert not feed.bozo and feed.entries == []


CONFIG = """\
newsletter:
  title: Weekly Privacy
  timezone: Europe/Berlin
  output_dir: digests
  state: state/state.sqlite3
seeds: seeds
watchlist: [TikTok]
feeds: []
"""

SEED = """\
---
title: {title}
source: Test Desk
language: en
---
{title}. The data protection authority fined the company for sharing customers' personal
data with advertisers without consent. Regulators said the fine of 2 million euros follows
an investigation into the firm's tracking of users across websites.
"""


def test_three_builds_of_three_weeks_make_the_archive(project: Path) -> None:
    """Real builds (CLI, seeds, SQLite): each week adds a seed; the archive lists all three."""
    cfg = write_config(project, CONFIG)
    weeks = ["2026-11-09T07:00:00+01:00", "2026-11-16T07:00:00+01:00", "2026-11-23T07:00:00+01:00"]
    for n, now in enumerate(weeks):
        (project / "seeds" / f"week{n}.md").write_text(
            SEED.format(title=f"Regulator fines retailer number {n} over ad tracking"),
            encoding="utf-8")
        r = run_cli("build", "--config", str(cfg), "--offline", "--now", now, cwd=project)
        assert r.returncode == 0, r.stderr
        # The contract's stdout: the issue's four files, nothing else.
        assert [Path(p).suffix for p in r.stdout.split()] == [".md", ".html", ".txt", ".json"]
    out = project / "digests"
    index = (out / INDEX_NAME).read_text(encoding="utf-8")
    assert [m for m in re.findall(r'href="(2026-W\d\d)\.html"', index)] == \
        ["2026-W48", "2026-W47", "2026-W46"]
    feed = feedparser.parse((out / FEED_NAME).read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Weekly Privacy"
    assert [e.title.split(" (")[0] for e in feed.entries] == \
        ["Weekly Privacy 2026-W48", "Weekly Privacy 2026-W47", "Weekly Privacy 2026-W46"]
    for e, n in zip(feed.entries, (2, 1, 0)):
        assert f"Regulator fines retailer number {n}" in e.content[0].value
    ids = [e.id for e in feed.entries]

    # Building the newest week again keeps every id (and the archive still has three issues).
    r = run_cli("build", "--config", str(cfg), "--offline", "--now", weeks[-1], cwd=project)
    assert r.returncode == 0, r.stderr
    assert [e.id for e in feedparser.parse((out / FEED_NAME).read_bytes()).entries] == ids


def test_scan_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert scan_issues(tmp_path / "nope") == []


def test_body_cache_inlines_only_new_or_changed_issues_same_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed's inlined bodies come from the cache when an issue's page is unchanged:
    the feed is byte for byte the one written without the cache."""
    from newsletter import archive

    out = tmp_path / "digests"
    write_sample_issues(out, weeks=3)
    plain = (out / FEED_NAME).read_bytes()
    cache = tmp_path / "state.sqlite3.feed-bodies.json"
    inlined: list[str] = []
    real = archive.body_html

    def counting(document: str) -> str:
        inlined.append(document)
        return real(document)

    monkeypatch.setattr(archive, "body_html", counting)
    write_archive(out, title="Privacy Alerts", tz=TZ, body_cache=cache)
    assert (out / FEED_NAME).read_bytes() == plain and len(inlined) == 3 and cache.is_file()

    inlined.clear()
    write_archive(out, title="Privacy Alerts", tz=TZ, body_cache=cache)
    assert (out / FEED_NAME).read_bytes() == plain and inlined == []
    # the cache serves any folder: a copy of the issues elsewhere inlines nothing either
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for p in out.glob("2026-W4*.*"):
        (copy / p.name).write_bytes(p.read_bytes())
    write_archive(copy, title="Privacy Alerts", tz=TZ, body_cache=cache)
    assert (copy / FEED_NAME).read_bytes() == plain and inlined == []

    # one issue rebuilt with other content: only that one is inlined again
    page = out / "2026-W47.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</h1>", " (corrected)</h1>", 1), encoding="utf-8")
    write_archive(out, title="Privacy Alerts", tz=TZ, body_cache=cache)
    assert len(inlined) == 1 and "(corrected)" in inlined[0]
    with_cache = (out / FEED_NAME).read_bytes()
    write_archive(out, title="Privacy Alerts", tz=TZ)  # no cache: the same feed
    assert (out / FEED_NAME).read_bytes() == with_cache and b"(corrected)" in with_cache


def test_body_cache_made_by_other_code_or_broken_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter import archive

    out = tmp_path / "digests"
    write_sample_issues(out, weeks=1)
    plain = (out / FEED_NAME).read_bytes()
    cache = tmp_path / "bodies.json"
    write_archive(out, title="Privacy Alerts", tz=TZ, body_cache=cache)
    data = json.loads(cache.read_text(encoding="utf-8"))
    data["bodies"] = {k: "<p>stale</p>" for k in data["bodies"]}
    data["code"] = "older code"
    cache.write_text(json.dumps(data), encoding="utf-8")
    write_archive(out, title="Privacy Alerts", tz=TZ, body_cache=cache)
    assert (out / FEED_NAME).read_bytes() == plain
    cache.write_text("{not json", encoding="utf-8")
    write_archive(out, title="Privacy Alerts", tz=TZ, body_cache=cache)
    assert (out / FEED_NAME).read_bytes() == plain
    assert json.loads(cache.read_text(encoding="utf-8"))["code"] == archive._body_code_digest()
