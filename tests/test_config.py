"""Config loading: the starter config is valid; every kind of error exits 2 with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.exceptions import ConfigError

from .conftest import REPO, run_cli, write_config

GOOD = """\
newsletter:
  title: Privacy Alerts
  timezone: Europe/Berlin
  schedule: "0 7 * * mon"
  period_days: 7
  max_age_days: 14
  output_dir: digests
  state: .newsletter/state.sqlite3
seeds: seeds
watchlist: [TikTok, ByteDance]
feeds:
  - name: Example feed
    url: https://example.org/feed.xml
    language: en
email:
  from: alerts@example.org
  to: [me@example.org]
  smtp: {host: smtp.example.org, port: 587, security: starttls, username_env: SMTP_USER, password_env: SMTP_PASSWORD}
"""


def test_starter_config_is_valid() -> None:
    cfg = load_config(REPO / "feeds.yaml")
    assert cfg.settings.title == "Privacy Alerts"
    assert cfg.model.watchlist == ["TikTok", "ByteDance"]
    langs = {f.language for f in cfg.feeds}
    assert {"en", "de"} <= langs


def test_contract_example_loads_and_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, GOOD))
    assert cfg.output_dir == tmp_path.resolve() / "digests"
    assert cfg.state_path == tmp_path.resolve() / ".newsletter/state.sqlite3"
    assert cfg.seeds_dir == tmp_path.resolve() / "seeds"
    assert cfg.model.email is not None and cfg.model.email.from_ == "alerts@example.org"


def _error(tmp_path: Path, body: str) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load_config(write_config(tmp_path, body))
    return ei.value


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(ei.value) and "not found" in str(ei.value)


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    e = _error(tmp_path, "newsletter:\n  title: [unclosed\nfeeds: []\n")
    assert e.line is not None and e.line >= 2
    assert "invalid YAML" in str(e)


def test_wrong_type_names_field_and_line(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace("period_days: 7", "period_days: weekly"))
    assert e.field == "newsletter.period_days"
    assert e.line == 5
    assert "weekly" in str(e)


def test_unknown_key_suggests_closest(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace("  timezone:", "  timezon:"))
    assert "unknown key 'timezon'" in str(e)
    assert "did you mean 'timezone'" in str(e)
    assert e.line == 3


def test_unknown_top_level_key(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD + "feed:\n  - name: x\n")
    assert "unknown key 'feed'" in str(e) and "'feeds'" in str(e)


def test_bad_cron(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace('"0 7 * * mon"', '"0 25 * * mon"'))
    assert e.field == "newsletter.schedule"
    assert "crontab" in str(e)
    e2 = _error(tmp_path, GOOD.replace('"0 7 * * mon"', '"every monday"'))
    assert "5 fields" in str(e2)


def test_unknown_timezone(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace("Europe/Berlin", "Europe/Atlantis"))
    assert e.field == "newsletter.timezone" and "Europe/Atlantis" in str(e)


def test_bad_address(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace("to: [me@example.org]", "to: [me-at-example.org]"))
    assert e.field == "email.to" and "me-at-example.org" in str(e)
    e2 = _error(tmp_path, GOOD.replace("from: alerts@example.org", "from: alerts"))
    assert e2.field == "email.from"


def test_bad_feed_url_names_index(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace("https://example.org/feed.xml", "ftp://example.org/f"))
    assert e.field == "feeds[0].url" and e.line == 13


def test_missing_required_field(tmp_path: Path) -> None:
    e = _error(tmp_path, GOOD.replace("    url: https://example.org/feed.xml\n", ""))
    assert e.field == "feeds[0].url" and "missing" in str(e)


def test_cli_exits_2_without_traceback(tmp_path: Path) -> None:
    write_config(tmp_path, GOOD.replace("Europe/Berlin", "Mars/Olympus"))
    r = run_cli("build", "--offline", "--config", str(tmp_path / "feeds.yaml"))
    assert r.returncode == 2
    assert "feeds.yaml" in r.stderr and "newsletter.timezone" in r.stderr
    assert "Mars/Olympus" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_missing_config_exits_2(tmp_path: Path) -> None:
    r = run_cli("build", "--offline", cwd=tmp_path)
    assert r.returncode == 2 and "feeds.yaml" in r.stderr and "Traceback" not in r.stderr


def test_cli_bad_now_exits_2(tmp_path: Path) -> None:
    write_config(tmp_path, GOOD)
    r = run_cli("build", "--offline", "--now", "next monday", "--config", str(tmp_path / "feeds.yaml"))
    assert r.returncode == 2 and "--now" in r.stderr and "Traceback" not in r.stderr
