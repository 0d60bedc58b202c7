"""Tagger mechanisms that generalise beyond single phrasings (issue 4): each case was
written for these tests, in English and German, as a must or a must-not."""

from __future__ import annotations

import pytest

from newsletter.tag import Tagger


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def _check(tagger: Tagger, topic: str, title: str, text: str, must: bool) -> None:
    got = tagger.tag(title, text).topics
    assert (topic in got) is must, (topic, title or text, got)


# Weak enforcement words (investigation, complaint, lawsuit) next to a named party need a
# privacy subject named as such: "data" alone is every company's incident report.
ENFORCEMENT_SUBJECT = [
    ("enforcement", "Retailer hit by outage",
     "The company is investigating how the data of its warehouse systems was corrupted.", False),
    ("enforcement", "Störung bei Versandhändler",
     "Das Unternehmen untersucht, wie die Daten der Lagerverwaltung beschädigt wurden.", False),
    ("enforcement", "",
     "Regulators opened an investigation into the company's privacy practices.", True),
    ("enforcement", "",
     "Gegen den Konzern läuft eine Untersuchung wegen möglicher Verstöße gegen den Datenschutz.", True),
]


@pytest.mark.parametrize("topic,title,text,must", ENFORCEMENT_SUBJECT)
def test_enforcement_needs_a_privacy_subject(tagger: Tagger, topic: str, title: str, text: str,
                                             must: bool) -> None:
    _check(tagger, topic, title, text, must)
