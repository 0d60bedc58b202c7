"""Language detection for the two first-class languages (and a guess for others).

Function words are a reliable signal on news text of a paragraph or more, and
cost nothing to load; a statistical detector would be a heavy dependency for
two languages.
"""

from __future__ import annotations

import re

_WORDS = re.compile(r"[a-zäöüßéèàáóúñç]+")

_DE_SHAPE = re.compile(r"sch|(?:ung|keit|heit|schaft|lich|isch|tz)(?:en)?$")
_EN_SHAPE = re.compile(r"(?:tion|ing|ed|ly|ness|ship)s?$")

_STOPWORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        "der die das und ist nicht ein eine einer einen dem den des mit auf für von zu im "
        "sich auch es sie wir ich wird werden wurde hat haben sind war bei nach aus über "
        "noch wie oder aber nur vom zum zur dass daß wenn kann soll sollen diese dieser "
        "durch gegen unter mehr schon sein seine ihre ihr man vor bis um".split()),
    "en": frozenset(
        "the and is are was were be been of to in for on with that this it its by from "
        "as at an or not have has had will would can could should which who their they "
        "he she we you but about after more than into over under new said says".split()),
    "fr": frozenset("le la les et est des du une un pour dans que qui sur pas avec ce sont "
                    "au aux par plus".split()),
    "es": frozenset("el la los las y es del una un para en que por con no se su al lo "
                    "como más".split()),
    "nl": frozenset("de het een en is van in op dat niet met voor zijn die te aan er "
                    "ook als bij".split()),
}


_LANGS = tuple(_STOPWORDS)  # max() below keeps this order on ties, as it always has
_DE = _LANGS.index("de")
_EN = _LANGS.index("en")
_UMLAUT = re.compile(r"[äöüß]")
_Weights = tuple[tuple[int, float], ...]  # (index in _LANGS, points), only the non-zero ones
# What one word adds to each language's score, worked out once per distinct word: a
# feed's entries repeat their vocabulary, so most words are a dict lookup. Bounded:
# cleared when full (a long-lived process sees an open-ended vocabulary).
_WEIGHTS: dict[str, _Weights] = {}
_WEIGHTS_MAX = 50_000


def _weights(word: str) -> _Weights:
    w = [1.0 if word in _STOPWORDS[lang] else 0.0 for lang in _LANGS]
    # Umlauts and ß are strong German evidence even in short headlines; word shapes
    # ("-ung", "sch", "-tion", "-ing") decide when there are no function words.
    if _UMLAUT.search(word):
        w[_DE] += 1
    if _DE_SHAPE.search(word):
        w[_DE] += 0.5
    if _EN_SHAPE.search(word):
        w[_EN] += 0.5
    out = tuple((i, v) for i, v in enumerate(w) if v)
    if len(_WEIGHTS) >= _WEIGHTS_MAX:
        _WEIGHTS.clear()
    _WEIGHTS[word] = out
    return out


def detect_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code of the language ``text`` is most likely written in.

    Scores: per language, its function words; for German also words with an umlaut or
    ß (1 each) and German-shaped words (0.5); for English English-shaped words (0.5).
    What a word adds is worked out once (``_WEIGHTS``); every term is a multiple of 0.5,
    so the sums are exact whatever the order (``tests/test_lang.py`` checks it against the
    word-by-word definition).
    """
    words = _WORDS.findall(text[:5000].lower())
    if not words:
        return default
    sums = [0.0] * len(_LANGS)
    cache = _WEIGHTS
    for word in words:
        w = cache.get(word)
        if w is None:
            w = _weights(word)
        for i, v in w:
            sums[i] += v
    scores = dict(zip(_LANGS, sums))
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return default
    if best != "en" and scores[best] == scores.get("en", 0):
        return "en" if default == "en" else best
    return best
