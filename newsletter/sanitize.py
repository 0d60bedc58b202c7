"""Untrusted HTML in, safe HTML or plain text out.

Feed and seed HTML goes through nh3 (the ammonia sanitiser) with a small
allow-list before it reaches any output: no scripts, styles, forms, iframes,
event handlers, images or non-http(s) links. Links lose their tracking
parameters. Plain text is what the tagger, the summaries and the templates use.

Hostile input (issue 8) is bounded before the parser sees it: at most
``MAX_HTML_CHARS`` of a fragment are parsed, and a fragment nested deeper than
``MAX_DEPTH`` is reduced to text without the HTML parser, because html5ever's
tree building is quadratic in nesting depth (200,000 nested ``<div>`` take
minutes).
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
_DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript",
                                "template", "svg", "math", "form", "select", "textarea"})

MAX_HTML_CHARS = 200_000  # a fragment is cut here before parsing: 10x the longest text we keep
MAX_DEPTH = 256  # open elements; real articles nest a few dozen deep
MAX_URL_CHARS = 2048  # longer links are not links a reader follows


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        if value.lower().startswith(("http://", "https://")):
            return safe_link(value)
        return value if value.lower().startswith("mailto:") else None
    return value


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr", "basefont", "bgsound", "frame", "keygen",
                   # closed implicitly by their next sibling: they never nest deep
                   "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead",
                   "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp"})


def nesting_depth(fragment: str, stop_at: int = MAX_DEPTH) -> int:
    """The deepest element nesting, counted from the tags alone (stops early at ``stop_at``).

    Unclosed tags count as open: ``<b>x</p>`` repeated is as costly for the HTML
    parser as real nesting.
    """
    depth = deepest = 0
    open_by_name: dict[str, int] = {}
    for m in _TAG.finditer(fragment):
        name = m.group(2).lower()
        if m.group(3) or name in _VOID:
            continue
        if m.group(1):
            # A close tag without an open one (``</p>`` after ``<b>``) closes nothing.
            if open_by_name.get(name):
                open_by_name[name] -= 1
                depth -= 1
        else:
            open_by_name[name] = open_by_name.get(name, 0) + 1
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_at:
                    break
    return deepest


def _too_costly(fragment: str) -> bool:
    return fragment.count("<") > MAX_DEPTH and nesting_depth(fragment) > MAX_DEPTH


def sanitize_html(fragment: str) -> str:
    """Safe HTML for the digest: the allow-list above, links with rel=noopener noreferrer."""
    fragment = fragment[:MAX_HTML_CHARS]
    if _too_costly(fragment):
        # Too deep to parse cheaply: keep the words, as escaped paragraphs.
        paras = [p for p in html_to_text(fragment).split("\n\n") if p]
        return "".join(f"<p>{htmllib.escape(p)}</p>" for p in paras)
    return nh3.clean(
        strip_controls(fragment),
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_attribute_filter,
        clean_content_tags=set(_DROP_WITH_CONTENT),
    )


_BLOCK_END = re.compile(r"(?i)</(?:p|div|li|h[1-6]|blockquote|pre|tr|table|section|article|ul|ol)"
                        r"\s*>|<(?:p|li|tr)\b[^>]*>|<br\s*/?>|<hr\s*/?>")
# Blanks: every tab, CR, form feed and vertical tab becomes a space, then runs of spaces
# one space. Done with str methods, each pass only when a cheap ``in`` test says it is
# needed: a regex trying a blank class at every character was the costliest pass over a
# feed's text (a fifth of a parser process's own work on the fetch benchmark).
_BLANKS = str.maketrans("\t\r\f\v", "    ")
_SPACES = re.compile(" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
# Control characters (C0 except tab and newline, DEL, C1), bidirectional embeddings,
# overrides and isolates (they can reorder what a reader sees: CVE-2021-42574),
# zero-width spaces and BOMs, lone surrogates (unencodable) and non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2060\u2066-\u2069"
                      "\ufeff\ud800-\udfff\ufffe\uffff]")
# Without a parser: whole script/style/... elements, then any tag.
_RAW_DROP = re.compile(r"(?is)<(script|style|iframe|object|noscript|template|svg|math|head|title)"
                       r"\b[^>]*>.*?</\1\s*>")
_ANY_TAG = re.compile(r"<[^>]*>")


def strip_controls(text: str) -> str:
    """``text`` without control and invisible formatting characters (tab and newline stay)."""
    return _CONTROL.sub("", text)


def html_to_text(fragment: str) -> str:
    """Plain text from HTML: tags and their scripts/styles gone, entities decoded,
    block boundaries kept as blank lines."""
    fragment = fragment[:MAX_HTML_CHARS]
    if "<" not in fragment and "&" not in fragment:
        return _tidy(fragment)
    marked = _BLOCK_END.sub("\n\n", fragment)
    if _too_costly(marked):
        stripped = _ANY_TAG.sub(" ", _RAW_DROP.sub(" ", marked))
    else:
        stripped = nh3.clean(marked, tags=set(), clean_content_tags={
            "script", "style", "iframe", "object", "embed", "noscript", "template", "svg",
            "math", "head", "title"})
    return _tidy(htmllib.unescape(stripped))


def _one_space(text: str) -> str:
    """``text`` with each run of blanks (space, tab, CR, form feed, vertical tab) one space."""
    if "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        text = text.translate(_BLANKS)
    return _SPACES.sub(" ", text) if "  " in text else text


def _tidy(text: str) -> str:
    """Lines stripped, blanks collapsed, at most one blank line in a row."""
    text = _one_space(strip_controls(text.replace("\u00ad", "").replace("\u00a0", " ")))
    if "\n" in text:
        text = "\n".join([ln.strip() for ln in text.split("\n")])
        if "\n\n\n" in text:
            text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    head = cut.rsplit(None, 1)[0] if " " in cut[-200:] or "\n" in cut[-200:] else cut
    return head.rstrip(",;:-– \n") + "…"


def plain_line(text: str, limit: int = 300) -> str:
    """One line of plain text (titles): no HTML, no control characters, bounded length."""
    line = html_to_text(text[: max(limit * 20, 2000)]).replace("\n", " ")
    line = _one_space(line).strip()
    return truncate(line, limit)


_URL_BAD = re.compile(r"[\x00-\x20\x7f-\x9f\"'<>\\^`{|}]")


def safe_link(url: str | None) -> str | None:
    """An http(s) link with a host and without tracking parameters, or None for anything else.

    Refused: other schemes (``javascript:``, ``data:``, ``file:``), links with
    spaces, quotes, angle brackets or control characters inside (they would need
    escaping in Markdown and mail clients), and links longer than ``MAX_URL_CHARS``.
    """
    if not url:
        return None
    u = url.strip()
    if not u.lower().startswith(("http://", "https://")) or len(u) > MAX_URL_CHARS:
        return None
    if _URL_BAD.search(u):
        return None
    from urllib.parse import urlsplit

    try:
        host = urlsplit(u).hostname
    except ValueError:
        return None
    if not host:
        return None
    return canonical_url(u)
