"""Clean scraped article text: recover the title, drop what is not the article.

Seeds arrive as whatever a scraper produced: tracking-pixel leftovers, photo
captions and credits, donation and subscription appeals, sponsored-content
disclaimers, "more on this topic" lists and comment sections. The rules here are
written for German and English news sites in general, not for one page: a line is
dropped when it looks like a caption or a leftover, a paragraph when it reads like
an appeal or a disclaimer, and everything after a tail marker (comments, related
links) is cut.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# --- normalisation ----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_SOFT_HYPHEN = "\u00ad"


def normalize_text(text: str) -> str:
    """Unicode NFC, no control characters, soft hyphens or zero-width marks, plain spaces."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_SOFT_HYPHEN, "")
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("\t", " ")
    return _CONTROL.sub("", text)


# Markup a scraper left behind (pixel <img>, <noscript>): the text is what we keep.
_HTML_TAG = re.compile(r"<(?:script|style|noscript)\b.*?</(?:script|style|noscript)>|"
                       r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]{0,500})?/?>", re.S | re.I)

_SPACES = re.compile(r"[ ]{2,}")


def squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# --- line and paragraph classifiers -------------------------------------------------------

# Words that make up the residue of tracking pixels and analytics snippets.
_TRACKING_WORDS = frozenset(
    "piwik matomo noscript no script img image pixel tracking tracker analytics google gtm "
    "iframe ivw etracker webtrekk spacer gif png counter beacon chartbeat comscore "
    "facebook fb tag manager".split())

_CAPTION = re.compile(
    r"(?:^|\s|\()(?:Foto|Fotos|Bild|Bilder|Photo|Photos|Photograph|Image|Picture|Credit|Credits|"
    r"Grafik|Illustration|Video|Quelle|Source)\s*:\s*[^.!?]{1,80}\)?\s*$", re.I)
_CREDIT_LINE = re.compile(
    r"^(?:©|\(c\)\s|copyright\b|photo by\b|foto von\b|bild von\b|image by\b|credit\b)", re.I)
_CREDIT_TAIL = re.compile(r"(?:Getty Images|via Getty|Unsplash|Shutterstock|picture alliance|"
                          r"imago(?: images)?|dpa-Bildfunk|IMAGO)\s*\)?$", re.I)

# A line like these ends the article: what follows is comments, related links or ads.
_TAIL_MARKERS = re.compile(
    r"^(?:mehr zum thema|mehr zu diesem thema|das könnte sie auch interessieren|"
    r"weitere artikel|verwandte artikel|verwandte themen|ähnliche artikel|zum thema|"
    r"\d+\s+kommentare?|kommentare|kommentar schreiben|kommentieren|leserkommentare|"
    r"diskutieren sie mit|bitte beachten sie|schlagworte|themen in diesem artikel|"
    r"more on this topic|more on this story|related|related articles|related stories|"
    r"related content|read more|read next|you may also like|you might also like|"
    r"recommended|recommended stories|more stories|more from [\w .]+|"
    r"\d+\s+comments?|comments|leave a comment|leave a reply|join the conversation|"
    r"show comments|view comments|about the author|über den autor|über die autorin)"
    r"\s*[:.]?$", re.I)

# Lines dropped wherever they stand: ad slots, share buttons, inline "read also" links.
_DROP_LINES = re.compile(
    r"^(?:anzeige|werbung|advertisement|advertising|sponsored|gesponsert|teilen|artikel teilen|"
    r"share|share this|share this article|tweet|drucken|print|e-?mail|zum artikel|"
    r"lesen sie auch|lesen sie auch:.*|auch interessant:.*|siehe auch:.*|read also:.*|"
    r"see also:.*|read more:.*|also read:.*|mehr dazu:.*|zur startseite|back to top|"
    r"/|•|·|\|)$", re.I)

_APPEAL_STRONG = re.compile(
    r"jetzt unterstützen|unterstützen sie|spenden sie|jetzt spenden|jetzt abonnieren|"
    r"abonnieren sie|ohne paywall|hinter der paywall|freien zugang für alle|"
    r"mit nur \d+[,.]?-? ?euro|donate now|please donate|support (?:our|independent|"
    r"quality) journalism|become a (?:member|subscriber|supporter)|subscribe (?:now|today)|"
    r"sign up for our newsletter|newsletter abonnieren|chip in|make a contribution|"
    r"reader[- ]funded|leserfinanziert|werden sie mitglied|unterstützung", re.I)
_APPEAL_WEAK = re.compile(
    r"\b(?:unterstütz\w*|spende\w*|abo\w*|paywall|leser:innen|leserinnen und leser|"
    r"community|journalismus|donat\w+|subscri\w+|membership|members|readers|journalism|"
    r"newsletter|kostenlos|free of charge|dankbar|grateful|euro|dollar|\$\d+)\b", re.I)

_SPONSORED = re.compile(
    r"inhalte? unseres (?:medien)?partners|sponsored (?:content|post|by)|paid (?:post|content)|"
    r"partner content|in kooperation mit|mit freundlicher unterstützung|gesponserte[rn]? "
    r"(?:beitrag|inhalt)|dieser (?:beitrag|artikel) (?:wurde|ist) (?:gesponsert|bezahlt)|"
    r"this (?:article|post|content) (?:is|was) (?:sponsored|paid for|produced in partnership)|"
    r"spiegeln nicht (?:unbedingt )?die meinung|do not necessarily reflect the (?:views|opinion)",
    re.I)


def is_tracking_residue(line: str) -> bool:
    words = re.findall(r"[a-z]+", line.lower())
    return 0 < len(words) <= 8 and all(w in _TRACKING_WORDS for w in words) and \
        not re.search(r"[.!?]$", line)


def is_caption(line: str) -> bool:
    if len(line) > 300:
        return False
    return bool(_CAPTION.search(line) or _CREDIT_LINE.match(line) or
                (len(line) < 160 and _CREDIT_TAIL.search(line)))


def is_appeal(par: str) -> bool:
    strong = len(set(m.group(0).lower() for m in _APPEAL_STRONG.finditer(par)))
    weak = len(set(m.group(0).lower() for m in _APPEAL_WEAK.finditer(par)))
    return strong >= 1 and strong + weak >= 3 or strong >= 2


def is_heading(line: str) -> bool:
    """A short line that does not end a sentence: a headline or a subheading."""
    return 0 < len(line) <= 120 and not re.search(r"[.,;]$", line) and len(line.split()) <= 16


# --- title recovery --------------------------------------------------------------------

# "Datenschutzskandal bei TiktokZugriff auf Daten": a headline glued to its subtitle.
_GLUED = re.compile(r"\b([A-Za-zÄÖÜäöüß]*[a-zäöüß]{3})([A-ZÄÖÜ][a-zäöüß]{2,}\w*)")
_GLUED_PUNCT = re.compile(r"([a-zäöüß]{2}[?!])([A-ZÄÖÜ][a-zäöüß])")


def split_glued_title(title: str, body: str) -> str:
    """Insert ': ' where a scraper glued a headline to its subtitle.

    A camel-case join is split only when the glued token occurs nowhere in the body
    while its first part does, so brand names written that way (TikTok, WhatsApp,
    ByteDance) stay whole.
    """
    body_low = body.lower()
    for m in _GLUED.finditer(title):
        left, right = m.group(1), m.group(2)
        whole = m.group(0)
        if whole.lower() in body_low:
            continue
        if left.lower() in body_low and re.search(r"\s", title[m.end():] or ""):
            head = title[: m.start()] + left
            tail = right + title[m.end():]
            return f"{head.rstrip()}: {tail.lstrip()}"
    m2 = _GLUED_PUNCT.search(title)
    if m2:
        return title[: m2.start() + len(m2.group(1))] + " " + title[m2.end(1):]
    return title


_SENTENCE_END = re.compile(r"(?<=[a-zäöüß0-9\"“”«»)])[.!?](?=\s+[A-ZÄÖÜ„\"“])")


def first_sentence(text: str, limit: int = 140) -> str:
    m = _SENTENCE_END.search(text)
    sent = text[: m.start() + 1] if m else text
    if len(sent) > limit:
        cut = sent[:limit].rsplit(" ", 1)[0]
        sent = cut.rstrip(",;:-– ") + "…"
    return sent.rstrip(".").strip()


# --- the whole article -----------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    title: str  # recovered headline ("" when none could be found)
    text: str  # article body, paragraphs separated by blank lines


def _paragraphs(text: str) -> list[str]:
    """Split on blank lines; a block of short lines is kept line by line (scrapers do both)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [squash(x) for x in block.split("\n") if x.strip()]
        if not lines:
            continue
        # Lines of a block that each look like a paragraph (or a list) stay separate.
        out.extend(lines)
    return out


def clean_article(raw: str, *, title: str | None = None) -> Cleaned:
    """Recover the title and drop boilerplate; ``title`` (from front matter) wins if given."""
    text = html.unescape(_HTML_TAG.sub(" ", normalize_text(raw)))
    pars = _paragraphs(text)

    # Leading residue: tracking pixels, empty bullets, lone credits.
    while pars and (is_tracking_residue(pars[0]) or _DROP_LINES.match(pars[0])):
        pars.pop(0)

    kept: list[str] = []
    for par in pars:
        if _TAIL_MARKERS.match(par):
            break
        if is_tracking_residue(par) or _DROP_LINES.match(par) or is_caption(par):
            continue
        if is_appeal(par) or _SPONSORED.search(par):
            # The short heading that introduced the appeal goes with it.
            if kept and is_heading(kept[-1]) and len(kept) > 1:
                kept.pop()
            continue
        kept.append(par)
    # A trailing lone heading (e.g. the appeal box title) is not content.
    while kept and is_heading(kept[-1]) and len(kept) > 2:
        kept.pop()

    body_for_check = "\n".join(kept[1:])
    if title:
        found = squash(title)
    elif kept and is_heading(kept[0]) and len(kept) > 1:
        found = split_glued_title(kept.pop(0), body_for_check)
    elif kept:
        # No headline line: the lead sentence stands in for it.
        found = first_sentence(kept[0])
    else:
        found = ""
    return Cleaned(title=found, text="\n\n".join(kept))
