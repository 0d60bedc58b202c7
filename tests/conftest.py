"""Shared fixtures: a temporary project folder with a config, and a local HTTP server."""

from __future__ import annotations

import http.server
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def guess_type(self, path: str) -> str:  # type: ignore[override]
        if path.endswith((".xml", ".rss", ".atom")):
            return "application/xml"
        return super().guess_type(path)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving files from a temp folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    srv = _Server(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", root
    finally:
        srv.shutdown()
        srv.server_close()


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m newsletter`` as a real process."""
    e = dict(os.environ)
    e.pop("NEWSLETTER_CONFIG", None)
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, env=e, timeout=timeout)


def write_config(folder: Path, body: str) -> Path:
    p = folder / "feeds.yaml"
    p.write_text(body, encoding="utf-8")
    return p


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A temp folder with the repo's two seeds copied in."""
    d = tmp_path / "proj"
    d.mkdir()
    shutil.copytree(REPO / "seeds", d / "seeds")
    return d
