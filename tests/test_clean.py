"""Seed cleaning: titles recovered, boilerplate dropped, on the two seeds and on examples of our own."""

from __future__ import annotations

from pathlib import Path

from newsletter.ingest.clean import clean_article, split_glued_title
from newsletter.ingest.lang import detect_language
from newsletter.ingest.seeds import read_seed, read_seeds

from .conftest import REPO

SEEDS = REPO / "seeds"


def test_taz_seed_title_and_body() -> None:
    a = read_seed(SEEDS / "000_6007e73108b86ae9.txt")
    assert a.title == "Datenschutzskandal bei Tiktok: Zugriff auf Daten von Journalisten"
    assert a.language == "de" and a.source == "taz" and a.kind == "seed"
    assert a.text.startswith("Bytedance hat mit seiner TikTok-App")
    assert "Peking afp | Der chinesische Mutterkonzern" in a.text
    assert a.text.rstrip().endswith("wenn auch nur sehr eingeschränkt.")
    for junk in ("piwik", "Foto: Kiichiro Sato/ap", "Eine Koalition, die was bewegt",
                 "Jetzt unterstützen", "Mehr zum Thema", "Kommentare", "Profil gelöscht",
                 "Jörg Schulz"):
        assert junk not in a.text, junk


def test_clover_seed_title_and_body() -> None:
    a = read_seed(SEEDS / "003_fbca233d07d9cb73.txt")
    assert a.title == "Die Social Media Plattform TikTok möchte Vertrauen aufbauen"
    assert a.language == "de"
    assert "Rechenzentren in Irland und Norwegen" in a.text
    assert "TikTok-Verbot auf Diensthandys in westlichen Ländern" in a.text  # a subheading stays
    assert a.text.rstrip().endswith("schon verboten.")
    for junk in ("Bitte beachten Sie", "Medienpartners", "DATEV", "Vogel Communications"):
        assert junk not in a.text, junk


def test_seed_bodies_unchanged_from_shared() -> None:
    shared = REPO.parent / "shared" / "seeds"
    if not shared.is_dir():
        return
    for p in shared.iterdir():
        ours = (SEEDS / p.name).read_text(encoding="utf-8")
        assert ours.endswith(p.read_text(encoding="utf-8"))


ENGLISH_PAGE = """\
<img src="pixel.gif"> google analytics noscript

Regulator opens probe into fitness app
The watchdog wants to know why location data was shared with advertisers

Photo: Jane Roe/Reuters

LONDON — The Information Commissioner's Office has opened an investigation into a popular fitness app after researchers found it shared precise location data with advertising partners.

Advertisement

The app's maker said it would cooperate fully. It denied selling any personal data.

Support independent journalism. Become a member today and get ad-free access. Subscribe now for just $5 a month.

Related articles

Five tips to lock down your phone
How data brokers work

42 comments
"""

GERMAN_PAGE = """\
Verbraucherschützer klagen gegen Auskunftei
Schufa-Scores vor Gericht

Bild: picture alliance/dpa

Der Verbraucherzentrale Bundesverband hat Klage gegen eine Auskunftei eingereicht. Es geht um die Frage, wie lange Daten über beglichene Schulden gespeichert werden dürfen.

Anzeige

Lesen Sie auch: Was die Schufa über Sie weiß

Das Gericht will im Frühjahr entscheiden.

Unterstützen Sie unabhängigen Journalismus! Mit einem Abo lesen Sie alle Artikel ohne Paywall. Jetzt abonnieren.

Dieser Beitrag ist gesponsert von unserem Partner. Die Inhalte spiegeln nicht die Meinung der Redaktion wider.

Das könnte Sie auch interessieren

Zehn Tipps für mehr Datenschutz
"""


def test_english_page_cleaned() -> None:
    c = clean_article(ENGLISH_PAGE)
    assert c.title == "Regulator opens probe into fitness app"
    assert c.text.startswith("The watchdog wants to know")
    assert "opened an investigation" in c.text and "It denied selling" in c.text
    for junk in ("analytics", "Photo:", "Advertisement", "Become a member", "Related articles",
                 "lock down your phone", "42 comments"):
        assert junk not in c.text, junk


def test_german_page_cleaned() -> None:
    c = clean_article(GERMAN_PAGE)
    assert c.title == "Verbraucherschützer klagen gegen Auskunftei"
    assert "Klage gegen eine Auskunftei" in c.text and "im Frühjahr entscheiden" in c.text
    for junk in ("picture alliance", "Anzeige", "Lesen Sie auch", "ohne Paywall", "gesponsert",
                 "Zehn Tipps"):
        assert junk not in c.text, junk


def test_glued_headline_split_only_where_glued() -> None:
    body = "Der Konzern Meta muss zahlen. Meta wehrt sich. Das Bußgeld ist hoch."
    assert split_glued_title("Rekordstrafe für MetaBußgeld in Milliardenhöhe", body) == \
        "Rekordstrafe für Meta: Bußgeld in Milliardenhöhe"
    # Camel-case brand names seen in the body stay whole.
    assert split_glued_title("WhatsApp ändert Regeln", "WhatsApp will Daten teilen.") == \
        "WhatsApp ändert Regeln"
    assert split_glued_title("TikTok and ByteDance sued", "TikTok, owned by ByteDance") == \
        "TikTok and ByteDance sued"


def test_front_matter_wins_and_md_seeds(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: Given title\nurl: https://x.example/a?utm_source=n&id=2\n"
        "published: 2026-11-20\nlanguage: en\nsource: Example\n---\n"
        "Some **bold** claim about [tracking](https://x.example/t) cookies.\n", encoding="utf-8")
    (tmp_path / "ignore.pdf").write_text("x")
    [a] = read_seeds(tmp_path)
    assert a.title == "Given title" and a.url == "https://x.example/a?id=2"
    assert a.published is not None and a.published.year == 2026
    assert "**" not in a.text and "tracking cookies" in a.text
    assert a.body_markdown and "**bold**" in a.body_markdown


def test_language_detection() -> None:
    assert detect_language("Die Behörde hat ein Bußgeld gegen das Unternehmen verhängt.") == "de"
    assert detect_language("The regulator fined the company for sharing data.") == "en"
    assert detect_language("Datenschutz") == "de"
