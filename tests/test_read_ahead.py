"""The build's read-ahead (issue 3, warm builds): while the feeds are fetched, a process of
its own reads, tags, assembles and renders the stored issue; the build uses that only when
the fetch brought nothing new or changed. Also the two things that make it cheap: the
cycle collector paused during a build, and httpcore kept from importing trio."""

from __future__ import annotations

import gc
import json
import multiprocessing
import pickle
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Sequence

import pytest

from newsletter import pipeline
from newsletter.config import load_config
from newsletter.ingest.feeds import FeedSource
from newsletter.ingest.fetch import FeedResult
from newsletter.types import TagResult

from .conftest import DATA, REPO
from .test_build_e2e import NOW, edit_feed, make_config


def _config(project: Path, base: str) -> Any:
    return load_config(make_config(project, base, broken=False))


def _read_aheads() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "newsletter-read-ahead"]


@pytest.fixture
def served(project: Path, http_dir: tuple[str, Path]) -> tuple[Any, Path]:
    base, root = http_dir
    for f in (DATA / "e2e").iterdir():
        shutil.copy(f, root / f.name)
    return _config(project, base), root


def test_a_warm_build_takes_the_issue_from_the_read_ahead(
        served: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = served
    now = datetime.fromisoformat(NOW)
    warmed: list[object] = []
    monkeypatch.setattr(pipeline, "_warm_up", lambda *a: warmed.append(a))
    first = pipeline.build(config, now=now, out_dir=tmp_path / "one")
    assert first.digest.stories and not first.feed_errors
    assert len(warmed) == 1  # new feeds send bodies: the build readied its tools meanwhile

    def not_here(*a: object, **k: object) -> None:
        raise AssertionError("the build did the work the read-ahead had done")

    # the read-ahead process starts from the forkserver here (the test server's thread runs),
    # a fresh interpreter: these stand-ins bind in this process only
    with monkeypatch.context() as m:
        m.setattr(pipeline, "tag_items", not_here)
        m.setattr(pipeline, "_assemble", not_here)
        m.setattr(pipeline, "render_digest", not_here)
        ahead = pipeline.build(config, now=now, out_dir=tmp_path / "ahead")
    assert len(warmed) == 1  # every feed had validators: no warm-up to slow the fetch
    # the same warm build without a read-ahead: the build's own pass
    monkeypatch.setattr(pipeline._ReadAhead, "result", lambda self: None)
    own = pipeline.build(config, now=now, out_dir=tmp_path / "own")
    assert ahead.digest == own.digest
    assert [s.lead.item.key for s in ahead.digest.stories] == [
        s.lead.item.key for s in first.digest.stories]
    for name in ("md", "html", "txt", "json"):
        a = (tmp_path / "ahead" / f"2026-W48.{name}").read_text(encoding="utf-8")
        b = (tmp_path / "own" / f"2026-W48.{name}").read_text(encoding="utf-8")
        assert a == b, name
    assert _read_aheads() == []


def test_news_from_a_feed_discards_the_read_ahead(
        served: tuple[Any, Path], tmp_path: Path) -> None:
    config, root = served
    now = datetime.fromisoformat(NOW)
    pipeline.build(config, now=now, out_dir=tmp_path / "one")
    edit_feed(root, "Hospital chain confirms breach", "Hospital chain Zorvexa confirms breach")
    report = pipeline.build(config, now=now, out_dir=tmp_path / "two")
    assert any("Zorvexa" in s.lead.article.title for s in report.digest.stories)
    issue = json.loads((tmp_path / "two" / "2026-W48.json").read_text(encoding="utf-8"))
    assert any("Zorvexa" in s["title"] for s in issue["stories"])
    assert _read_aheads() == []  # stopped, not left running


class _GcSpy:
    """A fetcher that notes whether the cycle collector runs while the build fetches."""

    annotate = False

    def __init__(self) -> None:
        self.enabled: list[bool] = []

    def fetch_all(self, sources: Sequence[FeedSource], states: Any = None, *,
                  now: datetime | None = None) -> list[FeedResult]:
        self.enabled.append(gc.isenabled())
        return [FeedResult(s, error="test: not fetched") for s in sources]


def test_the_build_pauses_the_cycle_collector_and_restores_it(project: Path,
                                                              tmp_path: Path) -> None:
    config = _config(project, "http://127.0.0.1:9")
    spy = _GcSpy()
    assert gc.isenabled()
    report = pipeline.build(config, now=datetime.fromisoformat(NOW), out_dir=tmp_path / "o",
                            fetcher=spy)
    assert spy.enabled == [False]
    assert gc.isenabled()
    assert len(report.feed_errors) == 2


def test_the_read_ahead_result_crosses_the_process_boundary() -> None:
    """Evidence is a read-only mapping, which pickle cannot copy without ``procs``."""
    import newsletter.procs  # noqa: F401  (registers the reducer)

    tags = TagResult(topics=("bans",), evidence=MappingProxyType({"bans": ("Verbot",)}))
    back = pickle.loads(pickle.dumps(tags))
    assert back == tags and isinstance(back.evidence, MappingProxyType)


def test_fetching_does_not_import_trio() -> None:
    """httpcore imports trio when installed (selenium brings it); the sync client never
    uses it. In a fresh process: not imported by the fetch, importable afterwards."""
    code = """
import sys
from newsletter.ingest.fetch import HttpFetcher
HttpFetcher().fetch_all([])
import httpcore
print('trio' in sys.modules)
try:
    import trio
except ImportError:
    print('absent')
else:
    print('importable')
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "False"
    assert lines[1] in ("absent", "importable")
