"""Read the seeds folder: hand-picked articles as .txt or .md, optional YAML front matter.

Front matter may give ``title``, ``url``, ``source``, ``published`` and ``language``;
whatever it does not give is recovered from the text (title, language).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from ..exceptions import ConfigError
from ..identity import canonical_url
from ..types import Article
from .clean import clean_article, normalize_text
from .lang import detect_language

SEED_SUFFIXES = (".txt", ".md")
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)
_FRONT_KEYS = {"title", "url", "source", "published", "language"}


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(f"invalid front matter: {getattr(e, 'problem', e)}", path=str(path),
                          line=mark.line + 2 if mark else None) from None
    if not isinstance(meta, dict):
        raise ConfigError("front matter must be a mapping of keys", path=str(path), line=2)
    unknown = set(meta) - _FRONT_KEYS
    if unknown:
        raise ConfigError(f"unknown front matter key {sorted(unknown)[0]!r} "
                          f"(allowed: {', '.join(sorted(_FRONT_KEYS))})", path=str(path))
    return meta, text[m.end():]


def parse_date(value: Any, *, field: str = "published", path: str | None = None) -> datetime | None:
    """A front-matter date or datetime as an aware datetime (UTC when no zone is given)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{value!r} is not an ISO 8601 date such as 2026-11-20",
                              path=path, field=field) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def read_seed(path: Path) -> Article:
    raw = path.read_text(encoding="utf-8", errors="replace")
    meta, body = split_front_matter(normalize_text(raw), path)
    is_md = path.suffix.lower() == ".md"
    if is_md:
        # Tag and summarise the words, not the Markdown syntax.
        import markdown

        from ..sanitize import html_to_text

        cleaned = clean_article(html_to_text(markdown.markdown(body)), title=meta.get("title"))
    else:
        cleaned = clean_article(body, title=meta.get("title"))
    lang = meta.get("language") or detect_language(f"{cleaned.title}\n{cleaned.text}")
    url = meta.get("url")
    return Article(
        kind="seed",
        source=str(meta.get("source") or "Seed"),
        title=cleaned.title or path.stem,
        text=cleaned.text,
        url=canonical_url(str(url)) if url else None,
        published=parse_date(meta.get("published"), path=str(path)),
        language=str(lang),
        guid=path.name,
        body_markdown=body.strip() if is_md else None,
    )


def read_seeds(folder: Path | None) -> list[Article]:
    """Every seed in ``folder`` (sorted by name); a missing folder means no seeds."""
    if folder is None or not folder.is_dir():
        return []
    return [read_seed(p) for p in sorted(folder.iterdir())
            if p.is_file() and p.suffix.lower() in SEED_SUFFIXES and not p.name.startswith(".")]
