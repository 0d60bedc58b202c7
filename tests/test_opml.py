"""OPML import and export (issue 3): round trip, comments kept, hostile OPML refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.exceptions import ConfigError, UsageError
from newsletter.opml import (
    OpmlFeed, add_feeds_text, export_opml, import_opml, parse_opml, plan_import, to_opml)

DATA = Path(__file__).resolve().parent / "data" / "feeds"

CONFIG = """\
# My privacy newsletter
newsletter:
  title: Privacy Alerts   # shown in the subject
  timezone: Europe/Berlin
seeds: null
feeds:
  # the first one
  - name: Example feed
    url: https://example.org/feed.xml
    language: en   # hint
  - name: Second
    url: https://second.example/rss

# mail settings follow later
watchlist: [TikTok]
"""


def test_parse_opml_flattens_outlines_and_skips_non_feeds() -> None:
    feeds = parse_opml((DATA / "subscriptions.opml").read_bytes())
    assert feeds == [
        OpmlFeed("Datenschutz News", "https://datenschutz.example/feed.xml", "de"),
        OpmlFeed("Example feed", "https://example.org/other.xml"),
        OpmlFeed("Already there", "https://example.org/feed.xml"),
        OpmlFeed('Mail & "quotes": a test', "http://quotes.example/rss?x=1&y=2"),
    ]


def test_to_opml_and_back_is_lossless() -> None:
    feeds = [OpmlFeed("A <&> B", "https://a.example/f?x=1&y=2", "de"), OpmlFeed("C", "http://c/")]
    assert parse_opml(to_opml(feeds, title="T").encode()) == feeds


def test_plan_import_skips_known_urls_and_renames_taken_names() -> None:
    add, skipped = plan_import([("Example feed", "https://example.org/feed.xml")],
                               parse_opml((DATA / "subscriptions.opml").read_bytes()))
    assert [f.name for f in add] == ["Datenschutz News", "Example feed (2)",
                                     'Mail & "quotes": a test']
    assert [f.url for f in skipped] == ["https://example.org/feed.xml"]


def test_add_feeds_text_keeps_comments_order_and_layout() -> None:
    import yaml

    new = add_feeds_text(CONFIG, [OpmlFeed('Mail & "quotes"', "http://q.example/rss", "de")])
    assert new.startswith(CONFIG.split("\n# mail settings")[0])  # everything before: untouched
    assert new.endswith("\n# mail settings follow later\nwatchlist: [TikTok]\n")
    assert yaml.safe_load(new)["feeds"][-1] == {"name": 'Mail & "quotes"',
                                                "url": "http://q.example/rss", "language": "de"}
    for empty in ("feeds: []\nseeds: s\n", "feeds:\nseeds: s\n", "seeds: s\n"):
        out = yaml.safe_load(add_feeds_text(empty, [OpmlFeed("A", "http://a/")]))
        assert out == {"seeds": "s", "feeds": [{"name": "A", "url": "http://a/"}]}


def test_import_then_export_round_trip(tmp_path: Path) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    added, skipped = import_opml(cfg, (DATA / "subscriptions.opml").read_bytes())
    assert len(added) == 3 and len(skipped) == 1
    text = cfg.read_text(encoding="utf-8")
    assert "# the first one" in text and "language: en   # hint" in text
    assert "# mail settings follow later" in text
    exported = parse_opml(export_opml(cfg).encode())
    assert [f.url for f in exported] == [
        "https://example.org/feed.xml", "https://second.example/rss",
        "https://datenschutz.example/feed.xml", "https://example.org/other.xml",
        "http://quotes.example/rss?x=1&y=2"]
    # importing the export into an empty config gives the same feeds back
    other = tmp_path / "other" / "feeds.yaml"
    other.parent.mkdir()
    other.write_text("seeds: null\n", encoding="utf-8")
    import_opml(other, export_opml(cfg).encode())
    assert parse_opml(export_opml(other).encode()) == exported
    # and a second import adds nothing
    assert import_opml(cfg, (DATA / "subscriptions.opml").read_bytes())[0] == []


def test_import_that_would_break_the_config_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newsletter.opml as opml

    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    # an edit that yields an invalid config (a key the schema does not know) must be refused
    monkeypatch.setattr(opml, "add_feeds_text", lambda text, new: text + "bogus_key: 1\n")
    with pytest.raises(ConfigError, match="nothing was changed"):
        import_opml(cfg, (DATA / "subscriptions.opml").read_bytes())
    assert cfg.read_text(encoding="utf-8") == CONFIG
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]  # no temp file left


@pytest.mark.parametrize("doc", [
    b"not xml at all",
    b"<rss version='2.0'><channel/></rss>",
    b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<opml version="2.0"><body><outline text="&lol2;" xmlUrl="http://a/"/></body></opml>""",
    b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="http://a/"/></body></opml>""",
])
def test_bad_or_hostile_opml_is_refused(doc: bytes) -> None:
    with pytest.raises(UsageError):
        parse_opml(doc)
