"""Render a ``Digest`` as Markdown, HTML, plain text (Jinja templates) and JSON (code).

Templates come from the user's folder first, then the built-in ``templates/``,
through one ``ChoiceLoader`` (as pelican does); ``StrictUndefined`` turns a typo
in a template into an error, and HTML is autoescaped. Templates see a plain view
model built here, never feed HTML: story text is plain, and the only HTML that
reaches them (Markdown seeds and the editor's note) is sanitised first.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .exceptions import TemplateError
from .store import to_iso
from .types import Digest, Rendered, Story

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("md", "html", "txt")
EVIDENCE_PER_TOPIC = 2


@lru_cache(maxsize=1)  # one per process
def _bytecode_cache() -> Any:
    """Compiled templates kept between runs (jinja's cache in a private temp folder,
    written atomically, checked against each template's source, so an edited or
    overriding template is compiled anew): compiling the five templates was ~0.1 s
    of every build. None where no safe folder exists: templates are then compiled."""
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def _env(user_dir: Path | None) -> Any:
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"),
                                            default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["md_escape"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["count"] = count_noun
    return env


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})


def md_escape(text: str) -> str:
    """Text that Markdown shows as written (no accidental links, emphasis or HTML)."""
    return str(text).translate(_MD_SPECIAL)


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """``{{ n | count('story', 'stories') }}`` -> '1 story', '3 stories'."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def md_url(url: str) -> str:
    return str(url).replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def markdown_to_safe_html(text: str) -> str:
    import markdown

    from .sanitize import sanitize_html

    return sanitize_html(markdown.markdown(text, extensions=["sane_lists"]))


_RAW_TAG = re.compile(r"<(?:script|style|iframe)\b.*?</(?:script|style|iframe)\s*>|</?[a-zA-Z][^<>]*>",
                      re.S | re.I)
_BAD_LINK = re.compile(r"\]\(\s*(?:javascript|data|vbscript):[^)]*\)", re.I)


def safe_markdown_source(text: str) -> str:
    """Markdown for the .md/.txt digests: no raw HTML, no script or data links."""
    return _BAD_LINK.sub("]()", _RAW_TAG.sub("", text)).strip()


def evidence_line(story: Story, labels: Mapping[str, str]) -> str:
    """'tagged bans: "Verbot auf Diensthandys"; data-access: "Nutzerdaten"' — short."""
    parts = []
    for t in story.topics:
        phrases = list(dict.fromkeys(story.evidence.get(t, ())))[:EVIDENCE_PER_TOPIC]
        quoted = ", ".join(f"“{p}”" for p in phrases)
        parts.append(f"{labels.get(t, t)}: {quoted}" if quoted else labels.get(t, t))
    return "; ".join(parts)


@lru_cache(maxsize=8192)  # each story's links are needed by the view and by the JSON
def _link(url: str | None) -> str | None:
    """Every link leaving through a digest is http(s) without tracking parameters, whatever
    the store holds (rows written by older versions, a seed's front matter; issue 8)."""
    from .sanitize import safe_link

    return safe_link(url)


def _date(dt: datetime | None, tz: tzinfo) -> str | None:
    return dt.astimezone(tz).strftime("%Y-%m-%d") if dt else None


def story_view(story: Story, labels: Mapping[str, str], tz: tzinfo,
               main: str | None = None) -> dict[str, Any]:
    a = story.lead.article
    body_html = markdown_to_safe_html(a.body_markdown) if a.body_markdown else None
    return {
        "id": story.id,
        "title": a.title,
        "url": _link(a.url),
        "source": a.source,
        "date": _date(a.published, tz),
        "language": a.language,
        "topics": [{"id": t, "label": labels.get(t, t), "main": t == main} for t in story.topics],
        "main_topic": main,
        "watchlist": list(story.watchlist),
        "summary": story.summary,
        "why": evidence_line(story, labels),
        "body_html": body_html,
        "also": [{"title": o.article.title, "url": _link(o.article.url),
                  "source": o.article.source,
                  "language": o.article.language} for o in story.also],
    }


def view_model(d: Digest, tz: tzinfo) -> dict[str, Any]:
    from .digest import main_topic

    labels = d.topic_labels
    order = list(labels)
    return {
        "issue": d.issue,
        "title": d.title,
        "period_start": _date(d.period_start, tz),
        "period_end": _date(d.period_end, tz),
        "generated_at": d.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        "intro_html": markdown_to_safe_html(d.intro_markdown) if d.intro_markdown else None,
        "intro_text": safe_markdown_source(d.intro_markdown) if d.intro_markdown else None,
        "alerts": [story_view(s, labels, tz, main_topic(s, order)) for s in d.alerts],
        "top": [story_view(s, labels, tz, main_topic(s, order)) for s in d.top],
        "sections": [{"topic": sec.topic, "label": sec.label,
                      "stories": [story_view(s, labels, tz, sec.topic) for s in sec.stories]}
                     for sec in d.sections],
        "overflow": [{"title": s.lead.article.title, "url": _link(s.lead.article.url),
                      "source": s.lead.article.source} for s in d.overflow],
        "feed_errors": [{"feed": e.feed, "url": e.url, "error": e.error} for e in d.feed_errors],
        "counts": {
            "stories": len(d.stories), "alerts": len(d.alerts), "overflow": len(d.overflow),
            "untagged": d.counts.untagged, "candidates": d.counts.candidates,
            "feeds_total": d.counts.feeds_total, "feeds_failed": d.counts.feeds_failed,
        },
    }


def digest_json(d: Digest) -> dict[str, Any]:
    """The contract's JSON, plus optional fields (evidence, rank, section, overflow, counts)."""
    from .digest import main_topic

    order = list(d.topic_labels)

    def story(s: Story, section: str) -> dict[str, Any]:
        a = s.lead.article
        return {
            "id": s.id, "title": a.title, "url": _link(a.url), "source": a.source,
            "published": to_iso(a.published), "language": a.language,
            "topics": list(s.topics), "watchlist": list(s.watchlist), "summary": s.summary,
            "also": [{"title": o.article.title, "url": _link(o.article.url),
                      "source": o.article.source}
                     for o in s.also],
            "evidence": {t: list(v) for t, v in s.evidence.items()},
            "section": section,
            "main_topic": main_topic(s, order) if s.topics else None,
            "rank": {"score": round(s.rank.score, 4),
                     "components": {k: round(v, 4) for k, v in s.rank.components.items()}},
        }

    stories = ([story(s, "alerts") for s in d.alerts] + [story(s, "top") for s in d.top] +
               [story(s, sec.topic) for sec in d.sections for s in sec.stories])
    return {
        "issue": d.issue,
        "title": d.title,
        "period": {"start": to_iso(d.period_start), "end": to_iso(d.period_end)},
        "generated_at": to_iso(d.generated_at),
        "stories": stories,
        "feed_errors": [{"feed": e.feed, "url": e.url, "error": e.error} for e in d.feed_errors],
        "overflow": [{"id": s.id, "title": s.lead.article.title, "url": _link(s.lead.article.url),
                      "source": s.lead.article.source} for s in d.overflow],
        "counts": {
            "items_seen": d.counts.items_seen, "items_new": d.counts.items_new,
            "candidates": d.counts.candidates, "untagged": d.counts.untagged,
            "stories": len(stories), "overflow": len(d.overflow),
            "feeds_total": d.counts.feeds_total, "feeds_failed": d.counts.feeds_failed,
        },
    }


def render_template(name: str, view: Mapping[str, Any], templates_dir: Path | None = None,
                    env: Any = None) -> str:
    """One template (the user's wins over the built-in one); errors name the template,
    the line and where we looked."""
    import jinja2

    try:
        return str((env or _env(templates_dir)).get_template(name).render(**view))
    except jinja2.TemplateNotFound:
        where = ", ".join(str(p) for p in ([templates_dir] if templates_dir else []) +
                          [BUILTIN_TEMPLATES])
        raise TemplateError(f"template {name} not found (looked in {where})") from None
    except jinja2.TemplateError as e:
        lineno = getattr(e, "lineno", None)
        at = f" line {lineno}" if lineno else ""
        raise TemplateError(f"template {name}{at}: {e}") from e


def _digest_template(ext: str) -> str:
    return f"digest.{ext}.j2"


def warm_templates(templates_dir: Path | None = None, *others: str) -> None:
    """Load the digest's templates and ``others`` once (jinja, its compiled-template cache),
    so that a later environment finds them ready: ~25 ms the first time, ~1 ms after."""
    env = _env(templates_dir)
    for name in [_digest_template(ext) for ext in FORMATS] + list(others):
        env.get_template(name)


def render_digest(d: Digest, *, tz: tzinfo, templates_dir: Path | None = None) -> dict[str, str]:
    """The issue's four documents by extension: md, html, txt, json."""
    env = _env(templates_dir)
    view = view_model(d, tz)
    out = {ext: render_template(_digest_template(ext), view, templates_dir, env)
           for ext in FORMATS}
    out["json"] = json.dumps(digest_json(d), ensure_ascii=False, indent=2) + "\n"
    return out


def write_issue(out_dir: Path, issue: str, docs: Mapping[str, str]) -> Rendered:
    """Write every document atomically; the JSON last, as the marker that the issue is whole."""
    from .atomic import remove_stale_temps, write_atomic

    paths = []
    for ext in ("md", "html", "txt", "json"):
        p = out_dir / f"{issue}.{ext}"
        remove_stale_temps(p)  # a build killed mid-write (issue 8); we hold the run lock
        write_atomic(p, docs[ext])
        paths.append(str(p))
    return Rendered(issue=issue, paths=tuple(paths))
