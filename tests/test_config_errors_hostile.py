"""Bad config, arguments and input (issue 8): exit 2 naming the file, the field and what is
wrong, never a traceback. Cases beyond the lead's ``test_config.py``: every section's
fields, hostile YAML (alias bombs, python tags, tabs, bad bytes), unusable paths, and
``newsletter tag`` input that is not one JSON object a line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli

from .conftest import run_cli

# (config text, field the message must name, words it must contain)
BAD_CONFIGS = [
    ("newsletter:\n  period_days: 0\n", "newsletter.period_days", "greater than or equal to 1"),
    ("newsletter:\n  max_age_days: -1\n", "newsletter.max_age_days", "greater than or equal"),
    ("newsletter:\n  max_items_per_feed: 0\n", "newsletter.max_items_per_feed", "greater than"),
    ("newsletter:\n  max_items_per_feed: lots\n", "newsletter.max_items_per_feed", "integer"),
    ("newsletter:\n  max_stories: 100000\n", "newsletter.max_stories", "less than or equal"),
    ("newsletter:\n  timezone: Mars/Olympus\n", "newsletter.timezone", "unknown time zone"),
    ("newsletter:\n  schedule: every monday\n", "newsletter.schedule", "crontab"),
    ("newsletter:\n  language: german\n", "newsletter.language", "two-letter"),
    ("newsletter:\n  titel: x\n", "newsletter.titel", "did you mean 'title'"),
    ("feeds: x\n", "feeds", "valid list"),
    ("feeds:\n  - name: a\n    url: javascript:alert(1)\n", "feeds[0].url", "not an http(s) URL"),
    ("feeds:\n  - name: a\n    url: file:///etc/passwd\n", "feeds[0].url", "not an http(s) URL"),
    ("feeds:\n  - {name: a, url: 'http://a.example/'}\n  - {name: a, url: 'http://b.example/'}\n",
     "feeds[1].name", "duplicate feed name"),
    ("feeds:\n  - {name: a, url: 'http://a.example/', language: english}\n",
     "feeds[0].language", "two-letter"),
    ("feeds:\n  - {name: a, url: 'http://a.example/', colour: red}\n", "feeds[0].colour",
     "unknown key"),
    ("feeds:\n  - {url: 'http://a.example/'}\n", "feeds[0].name", "required field is missing"),
    ("email:\n  from: a@b.example\n  to: []\n  smtp: {host: h}\n", "email.to", "at least 1"),
    ("email:\n  from: a@b.example\n  to: [me]\n  smtp: {host: h}\n", "email.to", "not an email"),
    ("email:\n  from: a@b.example\n  to: [x@y.example]\n  smtp: {host: h, port: 70000}\n",
     "email.smtp.port", "less than or equal to 65535"),
    ("email:\n  from: a@b.example\n  to: [x@y.example]\n  smtp: {host: h, security: tls}\n",
     "email.smtp.security", "'starttls', 'ssl' or 'none'"),
    ("watchlist: 5\n", "watchlist", "valid list"),
    ("ranking:\n  top_stories: 99\n", "ranking.top_stories", "less than or equal"),
]


def _alias_bomb(target: str) -> str:
    """YAML's billion laughs: nine levels of nine aliases (9**9 leaves if expanded)."""
    levels = ['&a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        levels.append(f"&a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return f"{target}: [" + ", ".join(levels) + "]\n"


def invoke(*args: str, input: str | bytes | None = None) -> tuple[int, str, BaseException | None]:
    r = CliRunner().invoke(cli, list(args), input=input)
    exc = r.exception if not isinstance(r.exception, SystemExit) else None
    return r.exit_code, r.stderr if hasattr(r, "stderr") else r.output, exc


@pytest.mark.parametrize("text,field,words", BAD_CONFIGS, ids=[c[1] for c in BAD_CONFIGS])
def test_bad_field_exits_2_naming_file_field_and_problem(tmp_path: Path, text: str, field: str,
                                                         words: str) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(text, encoding="utf-8")
    code, err, exc = invoke("build", "--offline", "--config", str(cfg))
    assert exc is None and "Traceback" not in err
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert str(cfg) in line and f": {field}: " in line and words in line, line
    assert line.startswith(f"newsletter: error: {cfg}:")  # file:line: field: what


@pytest.mark.parametrize("text,words", [
    ("- a\n- b\n", "must be a mapping"),
    ("just a string\n", "must be a mapping"),
    ("newsletter:\n\ttitle: x\n", "invalid YAML"),
    ("newsletter: !!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
    ("feeds: [\n", "invalid YAML"),
    (_alias_bomb("extra"), "unknown key"),
    (_alias_bomb("watchlist"), "watchlist[0]"),
], ids=["list", "scalar", "tab", "python-tag", "unclosed", "alias-bomb-key", "alias-bomb-value"])
def test_hostile_yaml_exits_2(tmp_path: Path, text: str, words: str) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(text, encoding="utf-8")
    code, err, exc = invoke("build", "--offline", "--config", str(cfg))
    assert exc is None and code == 2, err
    assert str(cfg) in err and words in err
    assert "pwned" not in err


def test_config_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_bytes(b"\xff\xfe\x00newsletter: {}\n")
    code, err, exc = invoke("build", "--offline", "--config", str(cfg))
    assert exc is None and code == 2 and str(cfg) in err


@pytest.mark.parametrize("args,words", [
    (["build", "--bogus"], "No such option"),
    (["build", "--now", "next tuesday"], "--now"),
    (["build", "--config", "{tmp}"], "is a directory"),
    (["build", "--out", "{tmp}/feeds.yaml"], "is a file"),
    (["send", "--issue"], "requires an argument"),
])
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    (tmp_path / "feeds.yaml").write_text("seeds: null\n", encoding="utf-8")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--config" not in argv:
        argv[1:1] = ["--config", str(tmp_path / "feeds.yaml")]
    code, err, exc = invoke(*argv)
    assert exc is None and code == 2, err
    assert words in err


def test_unusable_paths_fail_cleanly(tmp_path: Path) -> None:
    """An output or state folder that cannot be created: one line naming it, exit 1."""
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("seeds: null\nnewsletter:\n  state: st.sqlite3\n", encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    r = run_cli("build", "--offline", "--config", str(cfg), "--out", str(blocker / "sub"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert str(blocker) in r.stderr
    cfg.write_text(f"seeds: null\nnewsletter:\n  state: {blocker}/sub/st.sqlite3\n",
                   encoding="utf-8")
    r = run_cli("build", "--offline", "--config", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert str(blocker) in r.stderr


def test_corrupt_state_database_is_a_clean_error(tmp_path: Path) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("seeds: null\nnewsletter:\n  state: st.sqlite3\n", encoding="utf-8")
    (tmp_path / "st.sqlite3").write_bytes(b"this is not a database" * 100)
    code, err, exc = invoke("build", "--offline", "--config", str(cfg), "--out",
                            str(tmp_path / "out"))
    assert exc is None and code == 1
    assert "st.sqlite3" in err and "not a database" in err


# --- newsletter tag ----------------------------------------------------------------------

GOOD = '{"id": "1", "title": "TikTok fined over data breach", "text": ""}\n'


@pytest.mark.parametrize("bad,words", [
    ("[1, 2]\n", "JSON object"),
    ('"just a string"\n', "JSON object"),
    ('{"id": "2", "title": "x"\n', "not valid JSON"),
    ('{"id": "2", "title": "x", "text": "y", "lang": 5}\n', "lang"),
    ("\x00\x01\n", "not valid JSON"),
])
def test_tag_bad_line_is_named(tmp_path: Path, bad: str, words: str) -> None:
    (tmp_path / "feeds.yaml").write_text("seeds: null\n", encoding="utf-8")
    code, err, exc = invoke("tag", "--config", str(tmp_path / "feeds.yaml"),
                            input=GOOD + GOOD.replace('"1"', '"2"') + bad)
    assert exc is None and code == 2, err
    assert "line 3" in err and words in err


def test_tag_invalid_utf8_is_named_by_a_real_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "newsletter", "tag"], cwd=tmp_path,
                       input=GOOD.encode() + b"\xff\xfe\xfd\n", capture_output=True, timeout=60)
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert b"line 2" in r.stderr


def test_tag_deeply_nested_json_is_a_bad_line(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("seeds: null\n", encoding="utf-8")
    code, err, exc = invoke("tag", "--config", str(tmp_path / "feeds.yaml"),
                            input=GOOD + "[" * 100_000 + "\n")
    assert exc is None and code == 2 and "line 2" in err
