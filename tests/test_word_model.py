"""The tagger's word model (issue 4): a statistical second opinion that may add a topic the
cues missed, with the words that weighed most as evidence, and drop one it is sure is wrong
(never one the user's own terms gave); it speaks only on items that matched some taxonomy
term, honours a user's exclusions, and was trained on none of the sets that measure it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from newsletter import cache
from newsletter.tag import Tagger, word_model
from newsletter.tag.jsonl import explain_lines
from newsletter.tag.matcher import words_of

from .conftest import REPO

# A hand-made model: "zorblat" and "quimsy" are words no cue knows; "Zorblat" alone makes
# the model sure of tracking, "quimsy" adds a little; "spielfeldx" makes it sure a story
# is no ban.
HAND = {"topics": ["tracking", "bans"], "bias": [-3.0, -3.0],
        "words": {"zorblat": [5.0, 0.0], "quimsy": [0.5, 0.0], "verbotix": [0.0, 4.0],
                  "spielfeldx": [0.0, -8.0]}}
BAN = "Regierung verbietet TikTok auf Diensthandys"


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


def test_threshold_zero_turns_adding_off(hand: None) -> None:
    base = Tagger.load().taxonomy
    off = Tagger(replace(base, settings=replace(base.settings, word_model_threshold=0)))
    assert off.tag("Zorblat-Firma speichert Nutzerdaten", "Der Dienst nutzt quimsy Methoden."
                   ).topics == ()


def _vetoing(words: int = 1) -> Tagger:
    """The built-in taxonomy with a veto that needs only ``words`` of the model's words (the
    hand-made model knows four)."""
    base = Tagger.load().taxonomy
    return Tagger(replace(base, settings=replace(base.settings, word_model_veto_words=words)))


def test_a_sure_model_drops_a_topic_the_cues_found(hand: None) -> None:
    t = _vetoing()
    assert "bans" in t.tag(BAN, "Die Regel gilt ab Montag.").topics  # the cues alone
    r = t.tag(BAN, "Die Regel gilt ab Montag im Spielfeldx.")
    assert "bans" not in r.topics and "bans" not in r.evidence
    # the cues' phrases are kept for the explanation, and --explain says who overruled them
    assert "verbietet TikTok auf Diensthandys" in r.overruled["bans"]
    text = explain_lines("x1", BAN, r.topics, r.evidence, t.labels, r.overruled)
    assert "  not bans: the cues found 'verbietet TikTok auf Diensthandys'" in text
    assert "word model" in text


def test_not_quite_sure_is_no_veto(hand: None) -> None:
    # -3 + 0.5 is below 50 % but above the 3 % veto: the cues' tag stands
    r = _vetoing().tag(BAN, "Die Regel gilt ab Montag, quimsy.")
    assert "bans" in r.topics and not r.overruled


def test_the_prior_alone_is_no_veto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Far below 3 % on the prior, but the item's words speak for the topic, not against."""
    monkeypatch.setattr(word_model, "_raw", lambda: {**HAND, "bias": [-6.0, -6.0]})
    r = _vetoing().tag(BAN, "Die Regel gilt ab Montag, quimsy.")
    assert "bans" in r.topics and not r.overruled


def test_a_short_item_is_no_case_for_a_veto(hand: None) -> None:
    """By default the veto needs 15 of the model's words: one sentence is too little."""
    assert Tagger.load().settings.word_model_veto_words == 15
    r = Tagger(Tagger.load().taxonomy).tag(BAN, "Die Regel gilt ab Montag im Spielfeldx.")
    assert "bans" in r.topics and not r.overruled


def test_a_topic_the_users_own_terms_gave_is_never_dropped(hand: None) -> None:
    title = "Spielfeldx gesperrt, sagt die Liga"
    base = Tagger.load(user_topics={"bans": {"add": ["spielfeldx gesperrt"]}}).taxonomy
    t = Tagger(replace(base, settings=replace(base.settings, word_model_veto_words=1)))
    r = t.tag(title, "")
    assert r.topics == ("bans",) and not r.overruled


def test_a_users_new_topic_is_not_the_models_to_judge(hand: None) -> None:
    """The model has a column per built-in topic only: a topic the user made up is never
    added or dropped by it, whatever the item's words."""
    base = Tagger.load(user_topics={"stadion": {"label": "Stadion", "terms": ["spielfeldx"]}}
                       ).taxonomy
    t = Tagger(replace(base, settings=replace(base.settings, word_model_veto_words=1)))
    r = t.tag("Spielfeldx im Stadion", "Zorblat quimsy Spielfeldx.")
    assert "stadion" in r.topics and "stadion" not in r.overruled


def test_veto_zero_turns_the_veto_off(hand: None) -> None:
    base = Tagger.load().taxonomy
    off = Tagger(replace(base, settings=replace(base.settings, word_model_veto=0,
                                                word_model_veto_words=1)))
    r = off.tag(BAN, "Die Regel gilt ab Montag im Spielfeldx.")
    assert "bans" in r.topics and not r.overruled


def _items(*names: str) -> list[dict[str, Any]]:
    out = []
    for n in names:
        p = REPO / "tests" / "data" / "tagging" / f"{n}.jsonl"
        out += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
    return out


def test_the_shipped_model_adds_with_the_texts_words_and_drops_rarely() -> None:
    with_model = Tagger(Tagger.load().taxonomy)
    base = with_model.taxonomy
    rules = Tagger(replace(base, settings=replace(base.settings, word_model_threshold=0,
                                                  word_model_veto=0)))
    added = dropped = kept = 0
    for it in _items("fresh3_en", "fresh3_de", "blind_en", "blind_de"):
        a = with_model.tag(it["title"], it["text"])
        b = rules.tag(it["title"], it["text"])
        # what the rules found is either kept, with the same evidence, or overruled
        assert set(b.topics) == (set(a.topics) & set(b.topics)) | set(a.overruled)
        assert all(a.overruled[t] == b.evidence[t] for t in a.overruled)
        assert all(a.evidence[t] == b.evidence[t] for t in set(a.topics) & set(b.topics))
        dropped += len(a.overruled)
        kept += len(set(a.topics) & set(b.topics))
        for t in set(a.topics) - set(b.topics):
            added += 1
            assert a.evidence[t], t  # words, each one the text's own
            assert all(w.lower() in (it["title"] + " " + it["text"]).lower()
                       for w in a.evidence[t])
    assert added > 0 and dropped > 0
    assert dropped < 0.1 * kept  # a second opinion, not a second tagger


def test_the_model_was_not_trained_on_the_sets_that_measure_it() -> None:
    raw = json.loads((REPO / "newsletter" / "tag" / "word_model.json").read_text("utf-8"))
    trained = " ".join(raw["trained_on"])
    for judge in ("dev", "fresh3", "fresh4", "fresh5", "eval/"):
        assert judge not in trained
    assert raw["topics"] == list(Tagger.load().topic_ids)
    # its words are words as the scan folds them
    assert all(words_of(w) == [w] for w in list(raw["words"])[:200])


def test_a_changed_model_is_a_new_tag_cache_fingerprint() -> None:
    assert "tag/word_model.json" in cache._TAG_CODE and "tag/word_model.py" in cache._TAG_CODE


def test_the_training_script_names_the_sets_it_learns_from() -> None:
    src = Path(REPO / "benchmarks" / "train_word_model.py").read_text(encoding="utf-8")
    train = src.split("TRAIN = ")[1].split("]")[0]
    assert "fresh3" not in train and "fresh4" not in train and "fresh5" not in train
