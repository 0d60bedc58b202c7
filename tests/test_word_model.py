"""The tagger's word model (issue 4): a statistical second opinion that may add a topic the
cues missed, with the words that weighed most as evidence; never removes one, speaks only on
items that matched some taxonomy term, honours a user's exclusions, and was trained on none
of the sets that measure it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from newsletter import cache
from newsletter.tag import Tagger, word_model
from newsletter.tag.matcher import words_of

from .conftest import REPO

# A hand-made model: "zorblat" and "quimsy" are words no cue knows; "Zorblat" alone makes
# the model sure of tracking, "quimsy" adds a little.
HAND = {"topics": ["tracking", "bans"], "bias": [-3.0, -3.0],
        "words": {"zorblat": [4.0, 0.0], "quimsy": [0.5, 0.0], "verbotix": [0.0, 4.0]}}


@pytest.fixture
def hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word_model, "_raw", lambda: HAND)


def test_a_confident_model_adds_a_topic_with_its_words_as_written(hand: None) -> None:
    t = Tagger(Tagger.load().taxonomy)
    # "Nutzerdaten" matches a taxonomy term (the gate); no cue makes it a topic
    r = t.tag("Zorblat-Firma speichert Nutzerdaten", "Der Dienst nutzt quimsy Methoden.")
    assert r.topics == ("tracking",)
    assert r.evidence["tracking"] == ("Zorblat", "quimsy")  # strongest first, as written


def test_below_the_threshold_nothing_is_added(hand: None) -> None:
    t = Tagger(Tagger.load().taxonomy)
    assert t.tag("Quimsy speichert Nutzerdaten", "").topics == ()  # -3 + 0.5: far from sure


def test_no_taxonomy_term_no_word_model(hand: None) -> None:
    """News without any privacy vocabulary stays untagged whatever the model thinks."""
    t = Tagger(Tagger.load().taxonomy)
    assert t.tag("Zorblat wins the cup", "The Zorblat team won on Sunday.").topics == ()


def test_a_users_exclusion_weighs_nothing_for_its_topic(hand: None) -> None:
    title, text = "Zorblat-Firma speichert Nutzerdaten", "Der Dienst nutzt quimsy Methoden."
    t = Tagger.load(user_topics={"tracking": {"exclude": ["zorblat"]}})
    assert "tracking" not in t.tag(title, text).topics
    # the other topics still hear the word
    t2 = Tagger.load(user_topics={"bans": {"exclude": ["zorblat"]}})
    assert "tracking" in t2.tag(title, text).topics


def test_threshold_zero_turns_the_model_off(hand: None) -> None:
    base = Tagger.load().taxonomy
    off = Tagger(replace(base, settings=replace(base.settings, word_model_threshold=0)))
    assert off.tag("Zorblat-Firma speichert Nutzerdaten", "Der Dienst nutzt quimsy Methoden."
                   ).topics == ()


def _items(*names: str) -> list[dict[str, Any]]:
    out = []
    for n in names:
        p = REPO / "tests" / "data" / "tagging" / f"{n}.jsonl"
        out += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
    return out


def test_the_shipped_model_only_adds_to_the_rules() -> None:
    with_model = Tagger(Tagger.load().taxonomy)
    base = with_model.taxonomy
    rules = Tagger(replace(base, settings=replace(base.settings, word_model_threshold=0)))
    added = 0
    for it in _items("fresh3_en", "fresh3_de", "blind_en", "blind_de"):
        a = with_model.tag(it["title"], it["text"])
        b = rules.tag(it["title"], it["text"])
        assert set(b.topics) <= set(a.topics)
        assert all(a.evidence[t] == b.evidence[t] for t in b.topics)
        for t in set(a.topics) - set(b.topics):
            added += 1
            assert a.evidence[t], t  # words, each one the text's own
            assert all(w.lower() in (it["title"] + " " + it["text"]).lower()
                       for w in a.evidence[t])
    assert added > 0


def test_the_model_was_not_trained_on_the_sets_that_measure_it() -> None:
    raw = json.loads((REPO / "newsletter" / "tag" / "word_model.json").read_text("utf-8"))
    trained = " ".join(raw["trained_on"])
    for judge in ("dev", "fresh3", "fresh4", "eval/"):
        assert judge not in trained
    assert raw["topics"] == list(Tagger.load().topic_ids)
    # its words are words as the scan folds them
    assert all(words_of(w) == [w] for w in list(raw["words"])[:200])


def test_a_changed_model_is_a_new_tag_cache_fingerprint() -> None:
    assert "tag/word_model.json" in cache._TAG_CODE and "tag/word_model.py" in cache._TAG_CODE


def test_the_training_script_names_the_sets_it_learns_from() -> None:
    src = Path(REPO / "benchmarks" / "train_word_model.py").read_text(encoding="utf-8")
    assert "fresh3" not in src.split("TRAIN = ")[1].split("]")[0]
    assert "fresh4" not in src.split("TRAIN = ")[1].split("]")[0]
