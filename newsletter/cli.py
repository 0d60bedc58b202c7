"""The ``newsletter`` command: a thin layer over the library.

Each command parses its options, calls one library function, and turns a
``NewsletterError`` into one line on stderr and the contract's exit code. Heavy
imports happen inside the commands, so ``newsletter --help`` starts instantly.
"""

from __future__ import annotations

import functools
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from .exceptions import ConfigError, NewsletterError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


def config_option(f: F) -> F:
    return click.option("--config", "config_path", default="feeds.yaml", show_default=True,
                        type=click.Path(dir_okay=False, path_type=Path),
                        help="The feeds.yaml to use; relative paths in it resolve against its folder.")(f)


def now_option(f: F) -> F:
    return click.option("--now", "now_text", metavar="ISO8601",
                        help="Build as if it were this time (default: now), "
                             "e.g. 2026-11-23T07:00:00+01:00.")(f)


def handle_errors(f: F) -> F:
    """Our errors become one clean line and the contract's exit code; no traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except NewsletterError as e:
            click.echo(f"newsletter: error: {e}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("newsletter: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def load(config_path: Path) -> Any:
    from .config import load_config

    return load_config(config_path)


def parse_now(text: str | None, config: Any) -> datetime:
    """--now as an aware datetime; a time without a zone is in the config's time zone."""
    if not text:
        from datetime import timezone

        return datetime.now(timezone.utc)
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now: {text!r} is not an ISO 8601 time such as "
                         "2026-11-23T07:00:00+01:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=config.tz)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
@click.version_option(package_name="newsletter", prog_name="newsletter")
def cli(verbose: int) -> None:
    """A personal privacy-alert newsletter: seeds and feeds in, a weekly digest out.

    \b
    Example:
      newsletter build --offline        # digest from seeds and stored items
      newsletter run                    # build, then email it (crontab line)
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def do_build(config: Any, now: datetime, out: Path | None, offline: bool, quiet: bool = False) -> Any:
    """Build and print what the contract asks: paths on stdout, problems and a summary on stderr."""
    from .pipeline import build

    def feed_error(fe: Any) -> None:
        click.echo(f"feed failed: {fe.feed} ({fe.url}): {fe.error}", err=True)

    report = build(config, now=now, out_dir=out, offline=offline, on_feed_error=feed_error)
    for p in report.rendered.paths:
        click.echo(p)
    c = report.counts
    if not quiet:
        click.echo(f"{report.rendered.issue}: {c.items_seen} items seen, {c.items_new} new, "
                   f"{c.tagged} tagged, {c.stories} stories, "
                   f"{c.feeds_failed}/{c.feeds_total} feeds failed", err=True)
    return report


@cli.command()
@config_option
@now_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write the digest here instead of the config's output_dir.")
@click.option("--offline", is_flag=True, help="No network: seeds and stored items only.")
@handle_errors
def build(config_path: Path, now_text: str | None, out: Path | None, offline: bool) -> None:
    """Ingest, tag, merge and render the digest of the period ending now.

    Writes DIR/<issue>.md, .html, .txt and .json and prints their paths.

    \b
    Example:
      newsletter build --now 2026-11-23T07:00:00+01:00 --out /tmp/digest
    """
    config = load(config_path)
    do_build(config, parse_now(now_text, config), out, offline)


@cli.command()
@config_option
@click.option("--explain", is_flag=True, help="Print the matched phrases per topic for a human.")
@handle_errors
def tag(config_path: Path, explain: bool) -> None:
    """Tag JSON Lines from stdin: {"id", "title", "text", "lang"?} per line.

    Writes {"id", "topics", "evidence"} per line to stdout, in the same order. Uses
    the config's `topics:` section when the config file exists.

    \b
    Example:
      echo '{"id": "1", "title": "TikTok-Verbot auf Diensthandys", "text": ""}' | newsletter tag
    """
    from .tag import Tagger
    from .tag.jsonl import run_tag

    user_topics = None
    if config_path.exists():
        user_topics = load(config_path).model.topics
    elif config_path != Path("feeds.yaml"):
        raise ConfigError("config file not found", path=str(config_path))
    code = run_tag(sys.stdin, sys.stdout, sys.stderr, Tagger.load(user_topics=user_topics),
                   explain=explain)
    sys.exit(code)


def main() -> None:
    cli(prog_name="newsletter")


if __name__ == "__main__":
    main()
