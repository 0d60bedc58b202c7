"""Text normalisation before matching.

Feeds and scrapers hand us HTML entities (``&#8217;``, sometimes escaped twice),
typographic quotes, soft hyphens and zero-width characters inside words
("Daten\\u00adschutz"). Matching works on one clean form so that a term written
once in the taxonomy matches every spelling of it (issue 4, item 2).
"""

from __future__ import annotations

import html
import re
import unicodedata

_TAGS = re.compile(r"<[^>]{0,300}>")
# Characters that hide inside words and must vanish, not become a space.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_TRANSLATE = {
    **_INVISIBLE,
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u00b4\u0060"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u2039\u203a"), '"'),
    **dict.fromkeys(map(ord, "\u2010\u2011"), "-"),  # (non-breaking) hyphens inside compounds
}
_REPLACE = tuple((chr(k), v or "") for k, v in _TRANSLATE.items())
# a run of spaces and tabs other than one plain space: single spaces, most of a text,
# are not matched (replacing each with itself made this pass 4 times slower)
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")


def normalize_text(text: str) -> str:
    """Plain text with entities decoded, tags dropped and quotes/hyphens in one form.

    Case is kept (evidence is shown to the reader as found); matching lower-cases.
    """
    if "&" in text:
        text = html.unescape(html.unescape(text))  # feeds sometimes escape twice
    if "<" in text:
        text = _TAGS.sub(" ", text)
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        for ch, rep in _REPLACE:  # str.replace per character present: faster than translate
            if ch in text:
                text = text.replace(ch, rep)
    if text.isascii():
        if "  " not in text and "\t" not in text and "\r" not in text \
                and "\x0b" not in text and "\x0c" not in text:
            return text  # nothing to collapse: most items; skips a regex pass
    else:
        # every whitespace a single space or line break between words: nothing to collapse
        # (C-speed counts instead of the regex's pass, which costs 4 times as much)
        words = text.split()
        if len(words) - 1 == text.count(" ") + text.count("\n") \
                == len(text) - sum(map(len, words)):
            return text
    return _SPACES.sub(" ", text)
