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
        except OSError as e:
            # The machine, not the program: an unwritable --out or state folder, a full
            # disk. One line naming the file, exit 1, no traceback (issue 8).
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"newsletter: error: {where}{e.strerror or e}", err=True)
            sys.exit(1)
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

    fetcher = None
    if not offline and not quiet:  # a bar on a terminal, plain lines in cron mails (issue 3)
        from .pipeline import default_fetcher
        from .progress import terminal_progress

        fetcher = default_fetcher(progress=terminal_progress())
    report = build(config, now=now, out_dir=out, offline=offline, on_feed_error=feed_error,
                   fetcher=fetcher)
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


@cli.command()
@config_option
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback also needs --allow-remote.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host (the preview has no login).")
@click.option("--offline", is_flag=True, help="Rebuilds use seeds and stored items only.")
@now_option
@handle_errors
def preview(config_path: Path, port: int, host: str, allow_remote: bool, offline: bool,
            now_text: str | None) -> None:
    """Serve the newest digest and the archive of past issues on 127.0.0.1.

    Shows each issue as the email will look, its plain-text and Markdown versions,
    and a Rebuild button (or ?rebuild=1) that builds the current week again.
    Template edits show on reload. Prints the URL; runs until stopped (Ctrl-C).

    \b
    Example:
      newsletter preview --port 8000 --offline
    """
    from .preview import serve

    config = load(config_path)
    fixed = parse_now(now_text, config) if now_text else None
    serve(config, host=host, port=port, allow_remote=allow_remote, offline=offline,
          clock=(lambda: fixed) if fixed else None,
          announce=lambda s: click.echo(s))


@cli.group()
def feeds() -> None:
    """Check the configured feeds, import them from OPML, export them to OPML.

    \b
    Example:
      newsletter feeds check
      newsletter feeds import subscriptions.opml
      newsletter feeds export > feeds.opml
    """


@feeds.command("check")
@config_option
@now_option
@click.option("--force", is_flag=True,
              help="Also fetch feeds that asked not to be fetched yet (Retry-After, max-age).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@handle_errors
def feeds_check(config_path: Path, now_text: str | None, force: bool, quiet: bool) -> None:
    """Fetch every feed once and print its health: status, items, last success, error.

    The items fetched are stored as a build would store them. Exit status 0 when
    every feed is fine, 1 when any failed.

    \b
    Example:
      newsletter feeds check --config ~/privacy/feeds.yaml
    """
    from .health import check_feeds, format_table
    from .ingest.fetch import HttpFetcher
    from .progress import terminal_progress

    config = load(config_path)
    fetcher = HttpFetcher(progress=None if quiet else terminal_progress(),
                          honour_retry_after=not force)
    rows = check_feeds(config, now=parse_now(now_text, config), fetcher=fetcher)
    click.echo(format_table(rows, tz=config.tz))
    sys.exit(1 if any(r.failed for r in rows) else 0)


@feeds.command("import")
@config_option
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only list what would be added.")
@handle_errors
def feeds_import(config_path: Path, opml_file: Path, dry_run: bool) -> None:
    """Add the feeds of an OPML file to feeds.yaml, keeping its comments and order.

    New feeds are appended to the `feeds:` list; feeds whose URL is already there
    are skipped; the edited file is validated before it replaces the old one.

    \b
    Example:
      newsletter feeds import ~/Downloads/subscriptions.opml
    """
    from .opml import import_opml

    added, skipped = import_opml(config_path, opml_file.read_bytes(), origin=str(opml_file),
                                 dry_run=dry_run)
    verb = "would add" if dry_run else "added"
    for f in added:
        click.echo(f"{verb}: {f.name} <{f.url}>")
    click.echo(f"{len(added)} {verb}, {len(skipped)} already present", err=True)


@feeds.command("export")
@config_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@handle_errors
def feeds_export(config_path: Path, output: Path | None) -> None:
    """Write the configured feeds as OPML 2.0, for another feed reader.

    \b
    Example:
      newsletter feeds export -o feeds.opml
    """
    from .opml import export_opml

    text = export_opml(config_path)
    if output is None:
        click.echo(text, nl=False)
    else:
        from .atomic import write_atomic

        write_atomic(output, text)


# --- delivery (issue 6) ---------------------------------------------------------------


def _report_failure(f: Any) -> None:
    kind = "refused" if f.permanent else "failed (will be retried by the next send)"
    click.echo(f"newsletter: delivery to {f.recipient} {kind}: {f.reason}", err=True)


@cli.command()
@config_option
@click.option("--issue", "issue_id", metavar="ID", help="The issue to send, e.g. 2026-W47 "
              "(default: the newest built).")
@click.option("--dry-run", is_flag=True, help="Write <issue>.eml next to the digest; send nothing.")
@click.option("--force", is_flag=True, help="Send also to recipients who already have this issue.")
@handle_errors
def send(config_path: Path, issue_id: str | None, dry_run: bool, force: bool) -> None:
    """Email a built issue as text + HTML to the config's recipients.

    Never sends an issue twice to the same recipient (unless --force); a failed
    delivery is kept and the next send completes it. Exit status 1 when any
    recipient could not be reached. SMTP credentials come from the environment
    variables named by email.smtp.username_env and password_env.

    \b
    Example:
      SMTP_PASSWORD=... newsletter send --issue 2026-W47
      newsletter send --dry-run     # writes digests/<issue>.eml
    """
    from .deliver import send_issue

    config = load(config_path)
    report = send_issue(config, issue=issue_id, dry_run=dry_run, force=force,
                        on_failure=_report_failure)
    if report.eml is not None:
        click.echo(report.eml)
    click.echo(f"newsletter: {report.summary()}", err=True)
    sys.exit(0 if report.ok else 1)


@cli.command()
@config_option
@now_option
@click.option("--wait", "lock_wait", type=click.FloatRange(0), default=600, show_default=True,
              metavar="SECONDS", help="How long to wait for another run to finish before giving up.")
@handle_errors
def run(config_path: Path, now_text: str | None, lock_wait: float) -> None:
    """Build the current issue, then send it: the one line a crontab needs.

    Quiet on success when stdout is not a terminal, so cron mails only on trouble.
    Two runs never overlap: the second waits (--wait), then exits 1.

    \b
    Example (crontab, Mondays 07:00):
      0 7 * * mon  cd ~/newsletter && newsletter run
    """
    from .deliver import run_once

    config = load(config_path)
    quiet = not sys.stdout.isatty()

    def feed_error(fe: Any) -> None:
        click.echo(f"feed failed: {fe.feed} ({fe.url}): {fe.error}", err=True)

    report = run_once(config, now=parse_now(now_text, config), lock_wait=lock_wait,
                      on_feed_error=feed_error, on_failure=_report_failure)
    if not quiet or not report.ok:
        for p in report.build.rendered.paths:
            click.echo(p)
        for earlier in report.earlier:
            click.echo(f"newsletter: {earlier.summary()}", err=True)
        click.echo(f"newsletter: {report.send.summary()}", err=True)
    sys.exit(0 if report.ok else 1)


@cli.command()
@config_option
@handle_errors
def schedule(config_path: Path) -> None:
    """Run `newsletter run` on the config's schedule, in the foreground.

    Uses newsletter.schedule (crontab syntax) in newsletter.timezone, daylight-saving
    changes included. A run missed while the machine was off is made up once at
    start. Stops on SIGTERM or Ctrl-C after the run in flight (a second signal
    abandons it).

    \b
    Example:
      newsletter schedule --config ~/newsletter/feeds.yaml
    """
    from .schedule import serve

    logging.getLogger("newsletter.schedule").setLevel(logging.INFO)
    sys.exit(serve(load(config_path)))


def main() -> None:
    from .collector import no_collection_at_exit

    no_collection_at_exit()
    cli(prog_name="newsletter")


if __name__ == "__main__":
    main()
