"""One- or two-sentence summaries taken from a report's cleaned text (issue 5).

Extractive on purpose: the reader sees the outlet's own words, never an invented claim.
The hard part is what to leave out: datelines ("Peking afp |", "BERLIN (dpa) -"), bylines
("By Jane Doe"), captions ("Foto: ...", "... /AP"), boilerplate ("Read more", "Anzeige"),
teaser questions and truncated feed text. No summary is better than a bad one, so every
doubt returns ``None``. Rules (agencies, abbreviations, phrases) live in
``summarize_rules.yaml``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

__all__ = ["summarize", "split_sentences"]

RULES_FILE = "summarize_rules.yaml"
MIN_CHARS = 40  # a shorter "sentence" is a fragment, a heading or a caption
MIN_WORDS = 6
SCAN_SENTENCES = 4  # the lead sentences carry the news; deeper ones lack context


@dataclass(frozen=True)
class _Rules:
    dateline: re.Pattern[str]
    caps_dateline: re.Pattern[str]
    byline: re.Pattern[str]
    caption: re.Pattern[str]
    credit: re.Pattern[str]
    boilerplate: re.Pattern[str]
    abbreviations: frozenset[str]
    months: frozenset[str]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def load_rules() -> None:
    """Read and compile the rules now (once per process), to have them ready when needed."""
    _rules()


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    data = yaml.load(  # libyaml's loader where there is one: the pure-Python one is slow
        resources.files("newsletter").joinpath(RULES_FILE).read_text(encoding="utf-8"),
        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    agencies = _alternation([str(a) for a in data["agencies"]])
    place = r"[A-ZÄÖÜ][\w.'’\-/ ]{0,40}?(?:,\s*\w+\.?\s+\d{1,2})?"
    return _Rules(
        # "Peking afp |", "BERLIN (dpa) -", "WASHINGTON, Jan 5 (Reuters) -", "(dpa/tmn) –"
        dateline=re.compile(
            rf"^\s*(?:{place}\s*[,/]?\s*)?\(?\b(?:{agencies})(?:\s*/\s*(?:{agencies}))*\b\)?\s*[|:\-–—]+\s*",
            re.IGNORECASE,
        ),
        # "BERLIN — ", "SAN FRANCISCO, May 3 – "
        caps_dateline=re.compile(r"^\s*[A-ZÄÖÜ]{3,}(?:[ /-][A-ZÄÖÜ]{2,})*(?:,\s*\w+\.?\s+\d{1,2})?\s*[–—-]\s+"),
        # "By Jane Doe |", "Von Max Mustermann, Berlin –", "By Jane Doe and John Roe\n"
        byline=re.compile(
            r"^\s*(?:by|von|text|author|autor(?:in)?)\s*:?\s+[A-ZÄÖÜ][\w'’.\-]+"
            r"(?:\s+(?:[A-ZÄÖÜ][\w'’.\-]+|and|und|&|van|von|de|der|da|di|le))*"
            r"\s*(?:,\s*[A-ZÄÖÜ][\w ]{0,30})?\s*(?:\n|[|–—]|-\s|$)",
        ),
        caption=re.compile(rf"^\s*[(\[]?(?:{_alternation(data['caption_prefixes'])})\s*:", re.IGNORECASE),
        credit=re.compile(
            rf"(?:/\s*(?:{agencies}|{_alternation(data['caption_credit_words'])})\s*\)?\s*$)"
            rf"|(?:\b(?:getty images|picture alliance|imago images|shutterstock)\b)"
            r"|©|\(c\)\s",
            re.IGNORECASE,
        ),
        boilerplate=re.compile(
            "|".join(
                (r"\b" if w[0].isalnum() else "") + re.escape(w) + (r"\b" if w[-1].isalnum() else "")
                for w in data["boilerplate"]
            ),
            re.IGNORECASE,
        ),
        abbreviations=frozenset(str(a).casefold() for a in data["abbreviations"]),
        months=frozenset(str(m).casefold() for m in data["months"]),
    )


# A place where a sentence may end: terminal punctuation, closing quotes, then space.
_BOUNDARY = re.compile(r"[.!?…]+[\"'»«“”‘’)\]]*\s+")


def split_sentences(text: str, *, lang: str = "en") -> list[str]:
    """Sentences of ``text``, not split after abbreviations, initials or German ordinals."""
    rules = _rules()
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        nxt = text[end:end + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'„“«»‚‘("):
            continue  # "bzw. die", "5. mai", lower-case continuation
        before = text[start:m.start()]
        word_m = re.search(r"([\w.]+)$", before)
        word = word_m.group(1) if word_m else ""
        mark = text[m.start()]
        if mark == ".":
            bare = word.rstrip(".").casefold()
            if bare in rules.abbreviations or bare.replace(".", "") in rules.abbreviations:
                continue
            if re.fullmatch(r"(?:\w\.)*\w", word) and len(bare.replace(".", "")) <= 3 and (
                len(bare) == 1 or "." in bare
            ):
                continue  # "z. B.", "U.S.", "J. Doe"
            if bare.isdigit() and len(bare) <= 2:
                next_word = re.match(r"\w+", text[end:])
                nw = next_word.group(0).casefold() if next_word else ""
                if nw in rules.months or (lang == "de" and nxt.isupper()):
                    continue  # "1. Januar", "der 2. Weltkrieg"
        out.append(text[start:end].strip())
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def _clean_lines(text: str, rules: _Rules) -> str:
    """Drop caption, byline and boilerplate lines, and headings (short lines with no full stop)."""
    kept: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if rules.caption.match(line) or rules.byline.fullmatch(line + "\n"):
            continue
        if rules.credit.search(line) and len(line) < 200:
            continue
        if len(line) < 80 and not re.search(r"[.!?…\"“”»]$", line):
            continue  # a heading, a credit, a list of tags
        kept.append(line)
    return " ".join(kept)


def _strip_lead_in(text: str, rules: _Rules, title: str | None) -> str:
    """Remove a repeated headline, datelines and bylines from the start of the text."""
    for _ in range(3):
        before = text
        if title and text.casefold().startswith(title.strip().casefold()):
            text = text[len(title.strip()):].lstrip(" .:-–—|")
        text = rules.byline.sub("", text, count=1) if rules.byline.match(text) else text
        text = rules.dateline.sub("", text, count=1)
        text = rules.caps_dateline.sub("", text, count=1)
        if text == before:
            break
    return text.strip()


def _words(s: str) -> set[str]:
    return {w for w in re.findall(r"\w+", s.casefold()) if len(w) > 2}


def _good(sentence: str, rules: _Rules, title_words: set[str], max_chars: int) -> bool:
    s = sentence.strip()
    if len(s) < MIN_CHARS or len(s) > max_chars or len(s.split()) < MIN_WORDS:
        return False
    if not re.search(r"[.!][\"'»«“”‘’)]?$", s):
        return False  # a question (a teaser), a colon, or text cut off
    if s[0].islower() or "…" in s or "..." in s or "[" in s:
        return False
    if re.search(r"https?://|www\.|\S+@\S+\.\w", s):
        return False
    if rules.caption.match(s) or rules.credit.search(s) or rules.boilerplate.search(s):
        return False
    if rules.dateline.match(s) or rules.byline.match(s):
        return False
    words = _words(s)
    if title_words and words and len(words & title_words) / len(words | title_words) >= 0.6:
        return False  # the headline again
    return True


def summarize(text: str, *, lang: str, title: str | None = None, max_chars: int = 300) -> str | None:
    """One or two complete sentences from the start of ``text``, or None when none is good."""
    if not text or not text.strip():
        return None
    rules = _rules()
    title = html.unescape(title).strip() if title else None
    body = _clean_lines(html.unescape(text).replace("\u00a0", " "), rules)
    body = _strip_lead_in(re.sub(r"\s+", " ", body), rules, title)
    sentences = split_sentences(body, lang=lang)[:SCAN_SENTENCES]
    title_words = _words(title) if title else set()
    for n, sentence in enumerate(sentences):
        sentence = _strip_lead_in(sentence, rules, None)
        if not _good(sentence, rules, title_words, max_chars):
            continue
        summary = sentence
        if n + 1 < len(sentences) and len(summary) < 160:
            second = sentences[n + 1]
            if _good(second, rules, title_words, max_chars) and len(summary) + 1 + len(second) <= max_chars:
                summary = f"{summary} {second}"
        return summary
    return None
