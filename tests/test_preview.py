"""The preview server (issue 7), over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator

import pytest

from newsletter.config import Config, ConfigModel
from newsletter.exceptions import UsageError
from newsletter.preview import Preview, make_server, url_of
from newsletter.render import BUILTIN_TEMPLATES, render_digest, write_issue

from .archive_fixtures import TZ, WEEK1_END, sample_digest, write_sample_issues
from .conftest import run_cli, write_config


@dataclass
class Served:
    url: str
    host: str
    port: int
    out: Path
    app: Preview

    def request(self, method: str, path: str, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], str]:
        """One raw request: the path goes out exactly as written (no client-side normalising)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", "0")
            conn.endheaders()
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8")
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})


def make_config(folder: Path, templates: Path | None = None) -> Config:
    """A validated config in ``folder`` (no file needed: the preview reads only paths from it)."""
    nl = {"title": "Privacy Alerts", "timezone": "Europe/Berlin", "output_dir": "digests",
          "state": "state/state.sqlite3"}
    if templates is not None:
        nl["templates"] = str(templates)
    return Config(path=folder / "feeds.yaml", model=ConfigModel.model_validate({"newsletter": nl}))


def serve_app(app: Preview) -> Iterator[Served]:
    server = make_server(app, "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    try:
        host, port = server.server_address[:2]
        yield Served(url_of(server), str(host), int(port), app.out_dir, app)
    finally:
        server.shutdown()
        server.server_close()


def week_builder(out: Path, start_week: int = 3) -> Callable[[], str]:
    """A stand-in for the pipeline: renders and writes the next week's real files."""
    count = {"n": start_week}

    def build() -> str:
        d = sample_digest(WEEK1_END + timedelta(days=7 * count["n"]), week=count["n"])
        write_issue(out, d.issue, render_digest(d, tz=TZ))
        count["n"] += 1
        return d.issue

    return build


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    (tmp_path / "feeds.yaml").write_text("SECRET-CONFIG-CONTENT\n", encoding="utf-8")
    cfg = make_config(tmp_path)
    write_sample_issues(cfg.output_dir, weeks=3)
    yield from serve_app(Preview(cfg, build=week_builder(cfg.output_dir)))


def test_index_shows_the_newest_issue_as_the_email(served: Served) -> None:
    status, headers, body = served.get("/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "Preview: 2026-W48" in body and "<h1" in body and "Privacy Alerts" in body
    # As the email: the stylesheet is inlined into style attributes, dark mode kept.
    assert re.search(r'<h1[^>]* style="[^"]+"', body)
    assert "prefers-color-scheme: dark" in body
    # Plain text, Markdown and the archive one click away.
    for href in ("/archive", "/issues/2026-W48.txt", "/issues/2026-W48.md"):
        assert f'href="{href}"' in body
    assert '<form method="post" action="/rebuild"' in body
    assert "script-src" not in headers["content-security-policy"]  # so: no script may run
    assert headers["cache-control"] == "no-store"


def test_archive_lists_issues_newest_first_with_counts(served: Served) -> None:
    status, _, body = served.get("/archive")
    assert status == 200
    links = re.findall(r'<h2><a href="(/issues/2026-W\d\d)">', body)
    assert links == ["/issues/2026-W48", "/issues/2026-W47", "/issues/2026-W46"]
    assert body.count("2 alerts") == 3 and body.count("8 stories") == 3


def test_issue_page_and_its_text_and_markdown(served: Served) -> None:
    status, _, body = served.get("/issues/2026-W47")
    assert status == 200 and "Preview: 2026-W47" in body and "Issue 2026-W47" in body
    status, headers, text = served.get("/issues/2026-W47.txt")
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    assert text == (served.out / "2026-W47.txt").read_text(encoding="utf-8")
    assert "ALERTS" in text
    status, headers, md = served.get("/issues/2026-W47.md")
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    assert md.startswith("# Privacy Alerts — 2026-W47") and "## Alerts" in md
    # The static archive's own files are served too (their links are relative).
    assert served.get("/index.html")[0] == 200
    status, headers, _ = served.get("/feed.xml")
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    assert served.get("/2026-W46.html")[0] == 200


@pytest.mark.parametrize("path", ["/issues/2026-W40", "/issues/2026-W40.txt", "/2026-W40.md",
                                  "/issues/nope", "/feeds.yaml", "/issues/2026-W47.eml"])
def test_unknown_issue_or_file_is_404(served: Served, path: str) -> None:
    status, _, body = served.get(path)
    assert status == 404 and "Not found" in body


@pytest.mark.parametrize("path", [
    "/../feeds.yaml", "/issues/../../feeds.yaml", "/issues/..%2f..%2ffeeds.yaml",
    "/%2e%2e/feeds.yaml", "/issues/2026-W47.txt/../../../feeds.yaml", "/..%5c..%5cfeeds.yaml",
    "/%00feeds.yaml", "//etc/passwd",
])
def test_path_traversal_is_refused(served: Served, path: str) -> None:
    status, _, body = served.get(path)
    assert status in (400, 404)
    assert "SECRET-CONFIG-CONTENT" not in body and "root:" not in body


def test_rebuild_by_post_and_by_reload(served: Served) -> None:
    status, headers, _ = served.request("POST", "/rebuild", {"Origin": served.url.rstrip("/"),
                                                             "Host": f"127.0.0.1:{served.port}"})
    assert status == 303 and headers["location"] == "/issues/2026-W49"
    status, _, body = served.get("/")
    assert status == 200 and "Preview: 2026-W49" in body
    assert "/issues/2026-W49" in served.get("/archive")[2]

    status, headers, _ = served.get("/?rebuild=1")
    assert status == 303 and headers["location"] == "/issues/2026-W50"
    assert served.get("/issues/2026-W50")[0] == 200


def test_cross_site_rebuild_is_refused(served: Served) -> None:
    status, _, _ = served.request("POST", "/rebuild", {"Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = served.get("/?rebuild=1", sec_fetch_site="cross-site")
    assert status == 403
    assert "2026-W49" not in served.get("/archive")[2]


def test_other_host_names_are_refused(served: Served) -> None:
    """DNS rebinding: a foreign name that resolves to 127.0.0.1 gets nothing."""
    status, _, body = served.get("/", Host=f"evil.example:{served.port}")
    assert status == 421 and "Privacy Alerts" not in body
    assert served.get("/", Host=f"localhost:{served.port}")[0] == 200


def test_only_loopback_unless_allowed(tmp_path: Path) -> None:
    app = Preview(make_config(tmp_path))
    with pytest.raises(UsageError, match="--allow-remote"):
        make_server(app, "0.0.0.0", 0)
    with pytest.raises(UsageError):
        make_server(app, "192.0.2.1", 0)


def test_template_edit_shows_on_reload(tmp_path: Path) -> None:
    user = tmp_path / "mytemplates"
    user.mkdir()
    cfg = make_config(tmp_path, templates=user)
    write_sample_issues(cfg.output_dir, weeks=1)
    html_file = cfg.output_dir / "2026-W46.html"
    old = html_file.stat().st_mtime
    os.utime(html_file, (old - 60, old - 60))
    it = iter(serve_app(Preview(cfg)))
    served = next(it)
    try:
        assert "EDITED-TEMPLATE" not in served.get("/issues/2026-W46")[2]
        src = (BUILTIN_TEMPLATES / "digest.html.j2").read_text(encoding="utf-8")
        (user / "digest.html.j2").write_text(src.replace("<h1>", "<h1>EDITED-TEMPLATE "),
                                             encoding="utf-8")
        status, _, body = served.get("/issues/2026-W46")
        assert status == 200 and "EDITED-TEMPLATE" in body
        assert "Templates changed since this issue was built" in body
        # The re-render keeps the issue's content (from its JSON) and writes nothing.
        assert "Landesbehörde verbietet Kurzvideo-App" in body
        assert "EDITED-TEMPLATE" not in html_file.read_text(encoding="utf-8")
    finally:
        next(it, None)


def test_no_issue_yet_page(tmp_path: Path) -> None:
    it = iter(serve_app(Preview(make_config(tmp_path))))
    served = next(it)
    try:
        status, _, body = served.get("/")
        assert status == 200 and "No issue has been built" in body
        assert served.get("/archive")[0] == 200
    finally:
        next(it, None)


CONFIG = """\
newsletter:
  title: Privacy Alerts
  timezone: Europe/Berlin
  output_dir: digests
  state: state/state.sqlite3
seeds: seeds
watchlist: [TikTok, ByteDance]
feeds: []
"""


def test_cli_refuses_a_remote_host_without_the_flag(project: Path) -> None:
    cfg = write_config(project, CONFIG)
    r = run_cli("preview", "--config", str(cfg), "--host", "0.0.0.0", "--port", "0", cwd=project)
    assert r.returncode == 2 and "--allow-remote" in r.stderr


def test_cli_prints_the_url_and_rebuilds_for_real(project: Path) -> None:
    """The real command in a real process: URL on stdout, a real offline rebuild via POST."""
    cfg = write_config(project, CONFIG)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NEWSLETTER_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "newsletter", "preview", "--config", str(cfg),
                             "--port", "0", "--offline", "--now", "2026-11-23T07:00:00+01:00"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        served = Served(m.group(0), "127.0.0.1", int(m.group(1)), project / "digests",
                        None)  # type: ignore[arg-type]
        assert "No issue has been built" in served.get("/")[2]
        status, headers, _ = served.request("POST", "/rebuild")
        assert status == 303 and headers["location"] == "/issues/2026-W48", \
            served.get(headers.get("location", "/"))[2]
        status, _, body = served.get("/issues/2026-W48")
        assert status == 200 and "Alerts" in body  # the seeds name TikTok
        assert (project / "digests" / "index.html").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
