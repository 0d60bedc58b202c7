"""`newsletter feeds check|import|export` as real processes against a local HTTP server."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.fetch_helpers import FeedServer, send, simple_feed

DATA = Path(__file__).resolve().parent / "data" / "feeds"


def config(folder: Path, feeds: list[tuple[str, str]]) -> Path:
    lines = ["newsletter:", "  title: Test", "  timezone: UTC", "seeds: null", "feeds:"]
    for name, url in feeds:
        lines += [f"  - name: {name}", f"    url: {url}"]
    p = folder / "feeds.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_feeds_check_table_and_exit_codes(tmp_path: Path) -> None:
    with FeedServer() as srv:
        srv.routes["/good"] = lambda h: (
            send(h, 304, headers={"ETag": '"g"'}) if h.headers.get("If-None-Match") == '"g"'
            else send(h, 200, simple_feed(3), headers={"ETag": '"g"'}))
        srv.routes["/old"] = lambda h: send(h, 301, headers={"Location": "/good"})
        srv.routes["/missing"] = lambda h: send(h, 404, b"no", "text/plain")
        cfg = config(tmp_path, [("Good", srv.url("/good")), ("Moved", srv.url("/old"))])
        ok = run_cli("feeds", "check", "--config", str(cfg))
        assert ok.returncode == 0, ok.stderr
        lines = ok.stdout.splitlines()
        assert lines[0].split()[:3] == ["FEED", "STATUS", "ITEMS"]
        good = next(line for line in lines if line.startswith("Good"))
        assert " 200 " in good and "3 (3 new)" in good
        moved = next(line for line in lines if line.startswith("Moved"))
        assert f"moved permanently to {srv.url('/good')}" in moved
        assert lines[-1] == "2 feeds, 0 failed"
        assert "fetching 2 feeds" in ok.stderr  # plain progress lines: not a terminal

        again = run_cli("feeds", "check", "--config", str(cfg), "--quiet")
        assert again.returncode == 0
        assert " 304 " in next(line for line in again.stdout.splitlines() if line.startswith("Good"))
        assert again.stderr == ""

        cfg = config(tmp_path, [("Good", srv.url("/good")), ("Missing", srv.url("/missing"))])
        bad = run_cli("feeds", "check", "--config", str(cfg), "-q")
        assert bad.returncode == 1
        missing = next(line for line in bad.stdout.splitlines() if line.startswith("Missing"))
        assert "HTTP 404 Not Found" in missing and "never" in missing
        assert bad.stdout.splitlines()[-1] == "2 feeds, 1 failed"


def test_feeds_import_and_export(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("Example feed", "https://example.org/feed.xml")])
    before = cfg.read_text(encoding="utf-8")
    r = run_cli("feeds", "import", str(DATA / "subscriptions.opml"), "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "3 added, 1 already present" in r.stderr
    assert cfg.read_text(encoding="utf-8").startswith(before)
    out = run_cli("feeds", "export", "--config", str(cfg))
    assert out.returncode == 0
    assert out.stdout.count("<outline ") == 4 and 'xmlUrl="https://datenschutz.example/feed.xml"' \
        in out.stdout
    missing = run_cli("feeds", "import", str(tmp_path / "nope.opml"), "--config", str(cfg))
    assert missing.returncode == 2


def test_feeds_commands_have_help_with_an_example() -> None:
    for cmd in ("check", "import", "export"):
        r = run_cli("feeds", cmd, "--help")
        assert r.returncode == 0 and "Example:" in r.stdout and "newsletter feeds" in r.stdout


def test_build_lists_feeds_failing_for_more_than_a_week(tmp_path: Path) -> None:
    import json

    with FeedServer() as srv:
        srv.routes["/good"] = lambda h: send(h, 200, simple_feed(2))
        srv.routes["/dead"] = lambda h: send(h, 410, b"gone", "text/plain")
        cfg = config(tmp_path, [("Good", srv.url("/good")), ("Dead", srv.url("/dead"))])
        docs = {}
        for when in ("2026-11-09T07:00:00+00:00", "2026-11-16T07:00:00+00:00",
                     "2026-11-23T07:00:00+00:00"):
            r = run_cli("build", "--config", str(cfg), "--now", when, "--out", str(tmp_path / "out"))
            assert r.returncode == 0, r.stderr
            assert "feed failed: Dead" in r.stderr
            js = next(p for p in r.stdout.splitlines() if p.endswith(".json"))
            docs[when[:10]] = json.loads(Path(js).read_text(encoding="utf-8"))["feed_errors"]
    assert docs["2026-11-09"] == [{"feed": "Dead", "url": srv.url("/dead"), "error": "HTTP 410 Gone"}]
    # a week later: failing for exactly 7 days is not "more than a week" yet
    assert docs["2026-11-16"][0]["error"] == "HTTP 410 Gone"
    assert docs["2026-11-23"] == [{"feed": "Dead", "url": srv.url("/dead"),
                                   "error": "failing since 2026-11-09 (3 runs): HTTP 410 Gone"}]
