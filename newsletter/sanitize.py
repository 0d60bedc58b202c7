"""Untrusted HTML in, safe HTML or plain text out.

Feed and seed HTML goes through nh3 (the ammonia sanitiser) with a small
allow-list before it reaches any output: no scripts, styles, forms, iframes,
event handlers, images or non-http(s) links. Links lose their tracking
parameters. Plain text is what the tagger, the summaries and the templates use.
"""

from __future__ import annotations

import html as htmllib
import re

import nh3

from .identity import canonical_url

ALLOWED_TAGS = frozenset({
    "a", "p", "br", "strong", "b", "em", "i", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "h5", "h6", "hr",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return canonical_url(value) if value.lower().startswith(("http://", "https://")) else value
    return value


def sanitize_html(fragment: str) -> str:
    """Safe HTML for the digest: the allow-list above, links with rel=noopener noreferrer."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_attribute_filter,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript",
                            "template", "svg", "math", "form", "select", "textarea"},
    )


_BLOCK_END = re.compile(r"(?i)</(?:p|div|li|h[1-6]|blockquote|pre|tr|table|section|article|ul|ol)\s*>"
                        r"|<br\s*/?>|<hr\s*/?>")
_WS = re.compile(r"[ \t\r\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(fragment: str) -> str:
    """Plain text from HTML: tags and their scripts/styles gone, entities decoded,
    block boundaries kept as blank lines."""
    if "<" not in fragment and "&" not in fragment:
        return _tidy(fragment)
    marked = _BLOCK_END.sub("\n\n", fragment)
    stripped = nh3.clean(marked, tags=set(), clean_content_tags={
        "script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math",
        "head", "title"})
    return _tidy(htmllib.unescape(stripped))


def _tidy(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\u00ad", "").replace("\u00a0", " "))
    lines = [_WS.sub(" ", ln).strip() for ln in text.split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def plain_line(text: str, limit: int = 300) -> str:
    """One line of plain text (titles): no HTML, no control characters, bounded length."""
    line = html_to_text(text).replace("\n", " ")
    line = _WS.sub(" ", line).strip()
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(",;:-– ") + "…"
    return line


def safe_link(url: str | None) -> str | None:
    """An http(s) link without tracking parameters, or None for anything else."""
    if not url:
        return None
    u = url.strip()
    if not u.lower().startswith(("http://", "https://")):
        return None
    return canonical_url(u)
