"""Rendering: compiled templates are cached between runs, never at the cost of an edit."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from newsletter import render
from newsletter.render import BUILTIN_TEMPLATES, render_digest

from .archive_fixtures import sample_digest

END = datetime(2026, 11, 16, 7, 0, tzinfo=ZoneInfo("UTC"))


def test_compiled_templates_are_cached_and_an_edit_still_shows(tmp_path: Path) -> None:
    cache = render._bytecode_cache()
    assert cache is not None  # a private folder under the temp dir on this machine
    digest = sample_digest(END)
    render_digest(digest, tz=ZoneInfo("UTC"))
    cached = list(Path(cache.directory).glob("__jinja2_*.cache"))
    assert cached, "the built-in templates were compiled and kept"

    user = tmp_path / "templates"
    user.mkdir()
    src = (BUILTIN_TEMPLATES / "digest.txt.j2").read_text(encoding="utf-8")
    (user / "digest.txt.j2").write_text("FIRST\n" + src, encoding="utf-8")
    assert render_digest(digest, tz=ZoneInfo("UTC"), templates_dir=user)["txt"].startswith("FIRST")
    # same file, same size, edited again within the same second: the cache checks the source
    (user / "digest.txt.j2").write_text("AGAIN\n" + src, encoding="utf-8")
    assert render_digest(digest, tz=ZoneInfo("UTC"), templates_dir=user)["txt"].startswith("AGAIN")
    # and the built-in template is untouched by the user's
    assert not render_digest(digest, tz=ZoneInfo("UTC"))["txt"].startswith(("FIRST", "AGAIN"))
