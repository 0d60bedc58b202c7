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


def detect_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code of the language ``text`` is most likely written in."""
    words = _WORDS.findall(text[:5000].lower())
    if not words:
        return default
    scores: dict[str, float] = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    # Umlauts and ß are strong German evidence even in short headlines; word shapes
    # ("-ung", "sch", "-tion", "-ing") decide when there are no function words.
    scores["de"] += sum(1 for w in words if any(c in w for c in "äöüß"))
    scores["de"] += 0.5 * sum(1 for w in words if _DE_SHAPE.search(w))
    scores["en"] += 0.5 * sum(1 for w in words if _EN_SHAPE.search(w))
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return default
    if best != "en" and scores[best] == scores.get("en", 0):
        return "en" if default == "en" else best
    return best
