"""Summaries: complete sentences from the cleaned text, leaving out what is not news (issue 5)."""

from __future__ import annotations

import pytest

from newsletter.summarize import split_sentences, summarize


def test_german_agency_dateline_is_skipped() -> None:
    text = ("Peking afp | Der chinesische Mutterkonzern des Onlinenetzwerks Tiktok hat zugegeben, "
            "auf Nutzerdaten von Journalisten zugegriffen zu haben. Vier Beschäftigte wurden entlassen.")
    s = summarize(text, lang="de", title="Tiktok-Mutter gibt Zugriff auf Journalistendaten zu")
    assert s is not None and s.startswith("Der chinesische Mutterkonzern")
    assert "afp" not in s


@pytest.mark.parametrize(
    "dateline",
    ["BERLIN (dpa) - ", "Berlin (dpa/tmn) – ", "WASHINGTON, Jan 5 (Reuters) - ", "BRÜSSEL – ", "(AP) — "],
)
def test_datelines_in_both_languages_are_skipped(dateline: str) -> None:
    body = ("Die Bundesnetzagentur hat einem Anbieter von Ortungs-Apps die Weitergabe von "
            "Standortdaten an Werbefirmen untersagt.")
    s = summarize(dateline + body, lang="de")
    assert s == body


def test_english_byline_caption_and_boilerplate_are_skipped() -> None:
    text = (
        "By Jane Doe and John Roe\n"
        "Photo: Alex Smith/AP\n"
        "The Federal Trade Commission has banned a data broker from selling the location data of "
        "millions of Americans without their consent.\n"
        "Read more: our full coverage of data brokers.\n"
    )
    s = summarize(text, lang="en", title="FTC bans data broker from selling location data")
    assert s == ("The Federal Trade Commission has banned a data broker from selling the location "
                 "data of millions of Americans without their consent.")


def test_german_caption_and_boilerplate_are_skipped() -> None:
    text = (
        "Foto: Max Mustermann/dpa\n"
        "Bild: Symbolbild Überwachungskamera\n"
        "Die Berliner Datenschutzbeauftragte hat gegen einen Immobilienkonzern ein Bußgeld "
        "von 14,5 Millionen Euro verhängt. Das Unternehmen hatte Mieterdaten jahrelang nicht gelöscht.\n"
        "Lesen Sie auch: Wie Sie Ihre Daten löschen lassen.\n"
    )
    s = summarize(text, lang="de")
    assert s == ("Die Berliner Datenschutzbeauftragte hat gegen einen Immobilienkonzern ein Bußgeld "
                 "von 14,5 Millionen Euro verhängt. Das Unternehmen hatte Mieterdaten jahrelang "
                 "nicht gelöscht.")


def test_abbreviations_and_dates_do_not_end_a_sentence() -> None:
    text = ("Ab dem 1. Januar müssen Anbieter z. B. Messenger u. a. nach Nr. 3 des Gesetzes bzw. "
            "der Verordnung prüfen, sagte Dr. Weber. Die Prüfung kostet 5,- Euro pro Konto und Monat.")
    assert split_sentences(text, lang="de") == [
        "Ab dem 1. Januar müssen Anbieter z. B. Messenger u. a. nach Nr. 3 des Gesetzes bzw. "
        "der Verordnung prüfen, sagte Dr. Weber.",
        "Die Prüfung kostet 5,- Euro pro Konto und Monat.",
    ]
    assert summarize(text, lang="de", max_chars=300) == text


def test_english_abbreviations() -> None:
    sentences = split_sentences(
        "The U.S. Department of Justice sued Mr. Smith's company on Jan. 5 for selling data. "
        "It denies wrongdoing.", lang="en")
    assert sentences == ["The U.S. Department of Justice sued Mr. Smith's company on Jan. 5 for selling data.",
                         "It denies wrongdoing."]


def test_never_longer_than_max_chars_and_never_cut_mid_sentence() -> None:
    long = ("The regulator said the company " + "repeatedly " * 40 + "ignored requests.")
    assert summarize(long, lang="en", max_chars=300) is None
    two = ("The court ruled that the police may not use the facial recognition system. "
           "The city said it would appeal the ruling within a month.")
    s = summarize(two, lang="en", max_chars=100)
    assert s == "The court ruled that the police may not use the facial recognition system."


def test_title_is_not_repeated() -> None:
    title = "EU court strikes down data transfer pact with the US"
    text = (title + ". EU court strikes down data transfer pact with the US. "
            "Judges said American surveillance laws do not protect Europeans' data adequately.")
    assert summarize(text, lang="en", title=title) == (
        "Judges said American surveillance laws do not protect Europeans' data adequately.")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Foto: dpa",
        "What does the new law mean for you? We explain.",
        "The company said on Tuesday that the data of some users had been […]",
        "Click here to subscribe to our newsletter for more privacy news every week.",
    ],
)
def test_no_summary_is_better_than_a_bad_one(text: str) -> None:
    assert summarize(text, lang="en") is None
