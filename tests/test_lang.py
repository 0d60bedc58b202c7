"""detect_language: the per-distinct-word scoring gives exactly the word-by-word definition's answer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from newsletter.ingest import lang
from newsletter.ingest.lang import _DE_SHAPE, _EN_SHAPE, _STOPWORDS, _WORDS, detect_language

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


def reference(text: str, default: str = "en") -> str:
    """The original word-by-word implementation, kept as the definition."""
    words = _WORDS.findall(text[:5000].lower())
    if not words:
        return default
    scores: dict[str, float] = {k: sum(1 for w in words if w in stop)
                                for k, stop in _STOPWORDS.items()}
    scores["de"] += sum(1 for w in words if any(c in w for c in "äöüß"))
    scores["de"] += 0.5 * sum(1 for w in words if _DE_SHAPE.search(w))
    scores["en"] += 0.5 * sum(1 for w in words if _EN_SHAPE.search(w))
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return default
    if best != "en" and scores[best] == scores.get("en", 0):
        return "en" if default == "en" else best
    return best


def _corpus() -> list[str]:
    texts: list[str] = []
    for p in sorted((REPO / "seeds").glob("*")):
        if p.suffix in (".txt", ".md"):
            texts.append(p.read_text(encoding="utf-8"))
    files = sorted((REPO / "tests" / "data" / "tagging").glob("*.jsonl"))
    if DEV.exists():
        files.append(DEV)
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                title, body = str(d.get("title") or ""), str(d.get("text") or "")
                texts += [title, f"{title}\n{body[:2000]}", body]
    return texts


def _random_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    every_word = sorted(set().union(*_STOPWORDS.values()))
    pieces = every_word + ["schule", "zeitung", "nation", "running", "äh", "straße", "ÜBER",
                           "Tion", "ing", "ed", "sch", "tz", "lichen", "1234", "l'été", "naïve",
                           "İstanbul", "ǅ", "ß", "", " ", "\n", "—", "co-op"]
    alphabet = "abcdefghijklmnopqrstuvwxyzäöüßéèàáóúñçÄÖÜÉ İı'-. \n0123"
    out = []
    for _ in range(n):
        k = rng.randint(0, 60)
        if rng.random() < 0.5:
            out.append(" ".join(rng.choice(pieces) for _ in range(k)))
        else:
            out.append("".join(rng.choice(alphabet) for _ in range(k * 6)))
    # ties between languages, and texts around the 5,000-character cut
    out += ["die the", "der and ung", "de the", "het and", "la the", "x" * 4998 + " the die",
            "the " * 1300 + "die " * 1300, "ung tion", "sch ing", ""]
    return out


def test_same_answer_as_the_definition_on_real_and_random_texts() -> None:
    texts = _corpus() + _random_texts(3000)
    assert len(texts) > 3000
    for t in texts:
        for default in ("en", "de", "fr"):
            assert detect_language(t, default) == reference(t, default), (t[:80], default)


def test_same_answer_when_the_word_cache_is_cleared_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lang, "_WEIGHTS_MAX", 5)
    lang._WEIGHTS.clear()
    for t in _random_texts(300, seed=11):
        assert detect_language(t) == reference(t)
    assert len(lang._WEIGHTS) <= 5


def test_known_answers() -> None:
    assert detect_language("Die Behörde hat ein Bußgeld gegen das Unternehmen verhängt.") == "de"
    assert detect_language("The regulator fined the company for sharing data.") == "en"
    assert detect_language("123 456", default="nl") == "nl"
