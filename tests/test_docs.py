"""Every command is documented in the README and has help with an example;
heavy libraries stay out of start-up (as reader's test_lazy_imports)."""

from __future__ import annotations

import subprocess
import sys

import click

from newsletter.cli import cli

from .conftest import REPO


def _commands(group: click.Group, prefix: str = "newsletter") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, full))
        else:
            out.append((full, cmd))
    return out


def test_every_command_in_readme_with_example() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    cmds = _commands(cli)
    assert {"newsletter build", "newsletter tag", "newsletter send", "newsletter run",
            "newsletter schedule", "newsletter preview", "newsletter feeds check"} <= {c for c, _ in cmds}
    for full, cmd in cmds:
        assert f"`{full}" in readme, f"{full} is not documented in README.md"
        assert "Example" in (cmd.help or ""), f"{full} --help has no example"
        assert any(p.name == "config_path" for p in cmd.params), f"{full} lacks --config"


def test_help_does_not_import_heavy_libraries() -> None:
    code = ("import sys, newsletter.cli; "
            "heavy = {'httpx', 'feedparser', 'jinja2', 'apscheduler', 'pydantic', 'nh3', "
            "'markdown', 'css_inline', 'yaml', 'sqlite3'} & set(sys.modules); "
            "print(sorted(heavy))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
