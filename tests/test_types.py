"""The package type-checks (mypy with the pydantic plugin, settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO


def test_mypy_clean(tmp_path: object) -> None:
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path), "newsletter"],
                       cwd=REPO, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stdout + r.stderr
