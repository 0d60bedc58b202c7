"""The user's `topics:` section: add terms, exclude terms, new topics, and its validation."""

from __future__ import annotations

import pytest

from newsletter.exceptions import ConfigError
from newsletter.tag import Tagger, validate_user_topics


def test_add_terms_to_builtin_topic() -> None:
    title = "Browser makers fight Fingerprinting"
    assert "tracking" in Tagger.load({"tracking": {"add": ["Fingerprinting"]}}).tag(title, "").topics
    t = Tagger.load({"tracking": {"add": ["Werbe-ID*"]}})
    res = t.tag("Apple ändert Werbe-IDs", "")
    assert "tracking" in res.topics and res.evidence["tracking"] == ("Werbe-IDs",)


def test_exclude_terms_from_builtin_topic() -> None:
    title = "Website sets cookies without consent"
    assert "tracking" in Tagger.load().tag(title, "").topics
    assert "tracking" not in Tagger.load({"tracking": {"exclude": ["cookies"]}}).tag(title, "").topics


def test_new_topic_after_builtins() -> None:
    t = Tagger.load({"biometrics": {"label": "Biometrics", "terms": ["Fingerabdruck*", "biometric"],
                                    "weight": 2}})
    assert t.topic_ids[-1] == "biometrics" and t.topic_ids[:9] == Tagger.load().topic_ids
    assert t.labels["biometrics"] == "Biometrics" and t.weights["biometrics"] == 2.0
    res = t.tag("", "Der neue Ausweis speichert Fingerabdrücke.")
    assert res.topics == ("biometrics",) and res.evidence["biometrics"] == ("Fingerabdrücke",)


def test_relabel_and_reweight_builtin() -> None:
    t = Tagger.load({"bans": {"label": "App bans", "weight": 3}})
    assert t.labels["bans"] == "App bans" and t.weights["bans"] == 3.0


@pytest.mark.parametrize("raw,field,words", [
    ("tracking", "topics", "mapping"),
    ({"Tracking!": {"add": ["x"]}}, "topics.Tracking!", "lower-case"),
    ({"tracking": {"ad": ["x"]}}, "topics.tracking.ad", "did you mean 'add'"),
    ({"tracking": {"add": "x"}}, "topics.tracking.add", "list"),
    ({"tracking": {"add": []}}, "topics.tracking.add", "non-empty"),
    ({"tracking": {"add": [3]}}, "topics.tracking.add[0]", "string"),
    ({"tracking": {"exclude": ["??"]}}, "topics.tracking.exclude[0]", "no letters"),
    ({"tracking": {"add": ["a*b"]}}, "topics.tracking.add[0]", "'*' only"),
    ({"biometrics": {"label": "B"}}, "topics.biometrics.terms", "needs 'terms'"),
    ({"trackin": {"label": "T"}}, "topics.trackin.terms", "built-in topic 'tracking'"),
    ({"biometrics": {"terms": ["x"], "label": ""}}, "topics.biometrics.label", "non-empty"),
    ({"biometrics": {"terms": ["x"], "weight": -1}}, "topics.biometrics.weight", ">= 0"),
    ({"biometrics": {"terms": ["x"], "add": ["y"]}}, "topics.biometrics.add", "unknown key"),
    ({"biometrics": None}, "topics.biometrics", "mapping"),
])
def test_validation_names_the_field(raw: object, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_user_topics(raw)
    assert err.value.field == field
    assert words in str(err.value)
    with pytest.raises(ConfigError):
        Tagger.load(raw)


def test_valid_sections_pass() -> None:
    validate_user_topics(None)
    validate_user_topics({})
    validate_user_topics({"tracking": {"add": ["Fingerprinting"], "exclude": ["cookie"]},
                          "biometrics": {"label": "Biometrics", "terms": ["Fingerabdruck", "biometric"]}})
