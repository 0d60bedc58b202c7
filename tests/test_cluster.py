"""Merging reports of one event into stories (issue 5).

The reports below are written for these tests (no evaluation-set text): each case pairs
what should merge with a near miss that must not.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from newsletter.cluster import features, load_lexicon, merge_stories, pair_score
from newsletter.types import Article, Item, TaggedItem, TagResult

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def item(
    key: str,
    title: str,
    text: str,
    *,
    lang: str = "en",
    source: str = "Outlet",
    days: float = 0.0,
    kind: str = "feed",
    topics: tuple[str, ...] = (),
    evidence: dict[str, tuple[str, ...]] | None = None,
    watchlist: tuple[str, ...] = (),
) -> TaggedItem:
    when = T0 + timedelta(days=days)
    article = Article(kind=kind, source=source, title=title, text=text, language=lang,  # type: ignore[arg-type]
                      published=when, guid=key, url=f"https://example.org/{key}")
    return TaggedItem(item=Item(key=key, article=article, first_seen=when),
                      tags=TagResult(topics=topics, evidence=evidence or {}), watchlist=watchlist)


def groups(stories: list) -> list[set[str]]:  # type: ignore[type-arg]
    return sorted(({t.item.key for t in (s.lead, *s.also)} for s in stories), key=lambda g: sorted(g))


# Two reworded English reports of one fine, and a German one.
FINE_EN_1 = item(
    "fine-en-1",
    "Norway's data regulator fines Grindr NOK 65 million over ad sharing",
    "The Norwegian Data Protection Authority, Datatilsynet, has fined the dating app Grindr "
    "65 million crowns for passing users' location and sexual orientation to advertising partners "
    "without valid consent. Grindr said it would appeal the decision.",
    source="Reuters", topics=("enforcement", "tracking"),
)
FINE_EN_2 = item(
    "fine-en-2",
    "Grindr hit with $7.1m fine in Norway for sharing user data with advertisers",
    "Datatilsynet, Norway's privacy watchdog, says Grindr shared GPS location, age and the fact "
    "that people use the app with ad-tech firms. The 65 million crown penalty is the largest the "
    "Norwegian regulator has imposed. The company plans to appeal.",
    source="The Verge", days=0.5, topics=("enforcement", "tracking"),
)
FINE_DE = item(
    "fine-de",
    "Norwegen: 65 Millionen Kronen Bußgeld gegen Grindr",
    "Die norwegische Datenschutzbehörde Datatilsynet hat gegen die Dating-App Grindr ein Bußgeld "
    "von 65 Millionen Kronen verhängt. Die App habe Standortdaten und die sexuelle Orientierung "
    "ihrer Nutzer ohne wirksame Einwilligung an Werbepartner weitergegeben.",
    lang="de", source="heise online", days=1, topics=("enforcement", "tracking"),
)


def test_reworded_reports_in_one_language_merge() -> None:
    stories = merge_stories([FINE_EN_1, FINE_EN_2])
    assert groups(stories) == [{"fine-en-1", "fine-en-2"}]


def test_english_and_german_report_of_one_event_merge() -> None:
    stories = merge_stories([FINE_EN_1, FINE_DE])
    assert groups(stories) == [{"fine-en-1", "fine-de"}]


def test_three_reports_become_one_story_with_others_in_also() -> None:
    stories = merge_stories([FINE_EN_1, FINE_EN_2, FINE_DE])
    assert len(stories) == 1
    story = stories[0]
    assert {t.item.key for t in story.also} | {story.lead.item.key} == {"fine-en-1", "fine-en-2", "fine-de"}
    assert len(story.also) == 2


def test_two_events_about_one_company_in_one_week_stay_apart() -> None:
    ban = item(
        "tiktok-ban",
        "Canada orders TikTok to wind down its business in the country",
        "Canada's industry minister ordered TikTok Technology Canada to dissolve after a national "
        "security review of the Chinese-owned app. Canadians can keep using the app itself. "
        "TikTok said it would challenge the order in court.",
        source="BBC News", topics=("bans",),
    )
    breach = item(
        "tiktok-breach",
        "TikTok says hackers hijacked accounts of celebrities through direct messages",
        "A malicious link sent through TikTok's direct messages took over a small number of "
        "high-profile accounts, including that of a news network, the company said on Thursday. "
        "TikTok said it had stopped the attack and restored the accounts.",
        source="The Verge", days=3, topics=("breaches",),
    )
    ban_de = item(
        "tiktok-ban-de",
        "Kanada löst TikToks Landesgesellschaft auf",
        "Nach einer Sicherheitsprüfung hat die kanadische Regierung angeordnet, dass TikTok seine "
        "Niederlassung in Kanada schließen muss. Die App selbst bleibt für Kanadier verfügbar; "
        "TikTok will gerichtlich gegen die Anordnung vorgehen.",
        lang="de", source="Der Spiegel", days=1, topics=("bans",),
    )
    stories = merge_stories([ban, breach, ban_de])
    assert groups(stories) == [{"tiktok-ban", "tiktok-ban-de"}, {"tiktok-breach"}]


def test_same_reports_far_apart_in_time_do_not_merge() -> None:
    later = item("fine-en-2", FINE_EN_2.article.title, FINE_EN_2.article.text, days=60)
    assert groups(merge_stories([FINE_EN_1, later])) == [{"fine-en-1"}, {"fine-en-2"}]


def test_seed_wins_as_lead_over_a_longer_feed_item() -> None:
    seed = item(
        "seed.md",
        "Grindr fined 65 million crowns in Norway",
        "Datatilsynet fined Grindr 65 million crowns for sharing location data with advertisers "
        "without valid consent.",
        kind="seed", source="Seeds", days=0.2,
    )
    stories = merge_stories([FINE_EN_2, seed])
    assert len(stories) == 1
    assert stories[0].lead.item.key == "seed.md"
    assert [t.item.key for t in stories[0].also] == ["fine-en-2"]


def test_preferred_language_leads_between_equal_reports() -> None:
    stories = merge_stories([FINE_EN_1, FINE_DE], prefer_language="de")
    assert stories[0].lead.item.key == "fine-de"
    stories = merge_stories([FINE_DE, FINE_EN_1], prefer_language="en")
    assert stories[0].lead.item.key == "fine-en-1"


def test_topics_in_taxonomy_order_evidence_and_watchlist_are_merged() -> None:
    a = item("a", FINE_EN_1.article.title, FINE_EN_1.article.text, topics=("tracking",),
             evidence={"tracking": ("advertising partners",)}, watchlist=("Grindr",))
    b = item("b", FINE_DE.article.title, FINE_DE.article.text, lang="de", days=1,
             topics=("enforcement", "tracking"),
             evidence={"enforcement": ("Bußgeld",), "tracking": ("Werbepartner",)},
             watchlist=("Grindr", "Datatilsynet"))
    (story,) = merge_stories([a, b], topic_order=["data-access", "enforcement", "tracking"])
    assert story.topics == ("enforcement", "tracking")
    assert story.evidence["enforcement"] == ("Bußgeld",)
    assert set(story.evidence["tracking"]) == {"advertising partners", "Werbepartner"}
    assert story.watchlist == ("Grindr", "Datatilsynet")
    assert story.summary is None and story.rank.score == 0.0


def test_unrelated_items_stay_alone_and_keep_input_order() -> None:
    x = item("x", "Apple delays its child safety features after criticism",
             "Apple said it would take more time to collect input before releasing the photo "
             "scanning features it announced last month.", topics=("surveillance",))
    y = item("y", "Berlin verbietet Gesichtserkennung an Bahnhöfen",
             "Der Berliner Senat untersagt der Polizei, Kameras mit automatischer "
             "Gesichtserkennung an Bahnhöfen einzusetzen.", lang="de", days=1)
    stories = merge_stories([y, x])
    assert [s.lead.item.key for s in stories] == ["y", "x"]
    assert merge_stories([]) == []


@pytest.mark.parametrize(
    "text, key",
    [
        ("a fine of EUR 345m was imposed", "#3.45e+08"),
        ("ein Bußgeld von 345 Millionen Euro", "#3.45e+08"),
        ("a 345-million-euro fine", "#3.45e+08"),
        ("it paid 1.2 billion dollars", "#1.2e+09"),
        ("es zahlte 1,2 Milliarden Euro", "#1.2e+09"),
        ("es zahlte 1,2 Mrd. Euro", "#1.2e+09"),
        ("£183m", "#1.83e+08"),
        ("data of 533 million users", "#5.33e+08"),
        ("nine million customers", "#9e+06"),
        ("drei Milliarden Fotos", "#3e+09"),
        ("around 500,000 customers", "#5e+05"),
        ("rund einer halben Million Kunden", "#5e+05"),
        ("rund 500.000 Kunden", "#5e+05"),
    ],
)
def test_amounts_in_both_languages_become_one_key(text: str, key: str) -> None:
    f = features("", text, "de" if "Euro" in text or "Kunden" in text or "Fotos" in text else "en", T0)
    assert key in f.numbers


def test_years_are_not_amounts() -> None:
    f = features("", "In 2021 the law changed.", "en", T0)
    assert not f.numbers and f.years == {"y:2021"}


def test_lexicon_aligns_german_and_english_terms() -> None:
    lex = load_lexicon()
    en = features("", "The data protection authority fined the company under the GDPR.", "en", T0, lex)
    de = features("", "Die Datenschutzbehörde verhängte ein Bußgeld nach der DSGVO.", "de", T0, lex)
    shared = en.concepts & de.concepts
    assert {"e:gdpr", "t:data-protection-authority", "t:fine"} <= shared
    score, parts = pair_score(en, de, lex)
    assert parts["entities"] > 0 and parts["terms"] > 0


# Two different TikTok events of one week, in German: the same company, its parent, the
# same countries and privacy vocabulary, but nothing specific to one event in common.
TIKTOK_ACCESS = item(
    "tiktok-zugriff",
    "TikTok: ByteDance-Mitarbeiter spähten Journalisten aus",
    "Mitarbeiter des chinesischen TikTok-Mutterkonzerns ByteDance haben auf die Nutzerdaten von "
    "Journalisten in den USA zugegriffen, darunter eine Reporterin von BuzzFeed. Sie wollten "
    "herausfinden, wer vertrauliche Unterlagen weitergegeben hatte. ByteDance hat die Beteiligten "
    "entlassen; in den USA gilt die App als Sicherheitsrisiko.",
    lang="de", source="taz", topics=("data-access",),
)
TIKTOK_ACCESS_2 = item(
    "tiktok-zugriff-2",
    "ByteDance entlässt Mitarbeiter nach Zugriff auf Journalistendaten",
    "Der TikTok-Konzern ByteDance hat Mitarbeiter entlassen, die IP-Adressen einer früheren "
    "BuzzFeed-Reporterin und eines weiteren Journalisten ausgewertet hatten, um undichte Stellen "
    "im Unternehmen zu finden.",
    lang="de", source="Der Spiegel", days=0.5, topics=("data-access",),
)
TIKTOK_CLOVER = item(
    "tiktok-rechenzentren",
    "TikTok will Daten europäischer Nutzer in Irland speichern",
    "TikTok kündigt an, die Daten seiner Nutzer aus Europa künftig in Rechenzentren in Irland und "
    "Norwegen zu speichern. Der chinesische Mutterkonzern ByteDance reagiert damit auf Bedenken, "
    "Behörden in China könnten auf die Daten zugreifen. In den USA läuft ein ähnliches Projekt, "
    "dort wird über ein Verbot der App gestritten.",
    lang="de", source="heise online", days=2, topics=("data-localization", "bans"),
)


def test_two_german_tiktok_events_in_one_week_stay_apart() -> None:
    stories = merge_stories([TIKTOK_ACCESS, TIKTOK_CLOVER, TIKTOK_ACCESS_2])
    assert groups(stories) == [{"tiktok-rechenzentren"}, {"tiktok-zugriff", "tiktok-zugriff-2"}]


def test_shared_company_and_country_names_are_topic_not_event() -> None:
    lex = load_lexicon()
    a, b = (features(t.article.title, t.article.text, "de", T0, lex, t.tags.topics)
            for t in (TIKTOK_ACCESS, TIKTOK_CLOVER))
    score, parts = pair_score(a, b, lex)
    assert parts["names"] > 0 and parts["entities"] > 0  # TikTok, ByteDance, USA, China are shared
    assert "topic_only" in parts and score < 4.0  # ... but that is all they share


def test_the_two_seed_articles_stay_apart() -> None:
    from pathlib import Path

    from newsletter.ingest.seeds import read_seeds

    seeds = Path(__file__).resolve().parent.parent / "seeds"
    articles = read_seeds(seeds)
    assert len(articles) == 2
    tagged = [
        TaggedItem(item=Item(key=a.guid or a.title, article=a, first_seen=T0), tags=TagResult(topics=topics))
        for a, topics in zip(articles, (("data-access", "bans"), ("data-localization", "bans")))
    ]
    assert len(merge_stories(tagged)) == 2


def test_explainer_follow_up_joins_the_news_it_explains() -> None:
    news = item(
        "dpf-news",
        "EU-Kommission beschließt Angemessenheitsbeschluss für Data Privacy Framework",
        "Die EU-Kommission hat den neuen Datenschutzrahmen mit den USA angenommen. Unternehmen "
        "dürfen personenbezogene Daten wieder ohne Zusatzverträge an zertifizierte US-Firmen "
        "übermitteln. Kritiker kündigten eine Klage an.",
        lang="de", source="netzpolitik.org", topics=("data-localization",),
    )
    explainer = item(
        "dpf-faq",
        "Neuer Datenschutzrahmen: Was Firmen jetzt wissen müssen",
        "Wer Daten an einen Dienstleister in den USA schickt, sollte prüfen, ob dieser unter dem "
        "Data Privacy Framework zertifiziert ist. Datenschützer raten, Standardvertragsklauseln "
        "vorzuhalten.",
        lang="de", source="Golem.de", days=1, topics=("data-localization",),
    )
    assert groups(merge_stories([news, explainer])) == [{"dpf-faq", "dpf-news"}]
    # an explainer about the same company but another event still needs specific evidence
    other = item(
        "tiktok-faq",
        "TikTok-Verbot auf Diensthandys: Was Beschäftigte jetzt wissen müssen",
        "Mehrere Behörden verbieten TikTok auf dienstlichen Handys. Der chinesische Mutterkonzern "
        "ByteDance weist Vorwürfe zurück, Nutzerdaten an Behörden in China weiterzugeben.",
        lang="de", source="t3n", days=1, topics=("bans",),
    )
    assert len(merge_stories([TIKTOK_ACCESS, other])) == 2


def test_explainer_joins_news_through_a_shared_headline_subject() -> None:
    # The explainer repeats no amount or name of the news; its headline names the same
    # subject (journalists), which no other report of those days has in its headline.
    news = item(
        "doxx-news",
        "Hackers publish home addresses of dozens of journalists",
        "A message board has posted the home addresses, phone numbers and family photos of reporters "
        "from several national newspapers. Some of the files had circulated for weeks.",
        source="Guardian", topics=("breaches",),
    )
    explainer = item(
        "doxx-faq",
        "Journalist doxxing: what we know so far",
        "The addresses and phone numbers of reporters that appeared on the message board may not "
        "come from a single intrusion: some could have been compiled from public sources. Press "
        "unions asked members to check their accounts.",
        source="BBC", days=1, topics=("breaches",),
    )
    other = item(
        "police-news",
        "Police to test facial recognition vans at train stations",
        "Officers will scan the faces of passers-by against a watchlist during a three-month trial, "
        "the interior ministry announced.",
        source="Reuters", days=0.5, topics=("surveillance",),
    )
    assert groups(merge_stories([news, explainer, other])) == [
        {"doxx-faq", "doxx-news"}, {"police-news"}]
    # Between two news reports a shared headline word is not enough (no explainer discount)
    second = item(
        "doxx-other",
        "Court fines journalists' union over membership list",
        "A labour court ordered the union to pay damages after a membership list was e-mailed "
        "to the wrong recipients.",
        source="FT", days=1, topics=("breaches",),
    )
    assert len(merge_stories([news, second])) == 2


# Features of one report. The values below are what the word-by-word implementation gave
# before the token cache (``_Vocabulary``) and the fast paths came in.

CLEARVIEW = ("Regulator questions Clearview",
             'Officials criticised the plan on Monday. "Apple will appeal," she said. '
             "Privacy groups said Clearview broke the law.")


def test_capitalised_english_word_is_a_name_unless_it_starts_a_sentence() -> None:
    en = features(*CLEARVIEW, "en", T0)
    assert en.names == {"clearview"}  # "Officials" and "Apple" (after a quote) start sentences
    assert en.caps == {"apple", "clearview", "official", "officials"}
    assert en.title_names == {"clearview"}
    assert features(*CLEARVIEW, "de", T0).names == frozenset()  # German capitalises every noun


def test_a_lexicon_phrase_takes_its_words() -> None:
    f = features("", "The data protection authority fined the firm.", "en", T0)
    assert f.concepts == {"t:data-protection-authority", "t:fine"}
    assert f.stems == frozenset()  # one concept, not the words "data", "protection", "authority"


def test_number_words_and_amounts() -> None:
    en = features("", "Hackers stole data of nine million users, half a million of them in the U.S.",
                  "en", T0)
    # "a million" within "half a million" counts too, as it always has
    assert en.numbers == {"#9e+06", "#5e+05", "#1e+06"}
    assert "p:usa" in en.concepts
    de = features("", "Ein Bußgeld über NEUN\u00a0MILLIONEN Euro; US$ 5 million; version 2.5 million; "
                  "nine-million", "de", T0)
    assert de.numbers == {"#9e+06", "#5e+06", "#2.5e+06"}  # "nine-million": no space, no amount


def test_explainer_headline_and_names_written_like_names() -> None:
    f = features("What it means: iPhones and the CNIL", "", "en", T0)
    assert f.explainer
    assert f.title_names == {"e:cnil", "iphones"}
    assert f.caps == {"iphone", "iphones"}


def test_features_do_not_depend_on_what_the_token_cache_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter import cluster

    reports = [(t.article.title, t.article.text, t.article.language or "en")
               for t in (FINE_EN_1, FINE_EN_2, FINE_DE)] + [(*CLEARVIEW, "en"), (*CLEARVIEW, "de")]
    lex = load_lexicon()
    cluster._VOCABULARIES.clear()
    fresh = [features(title, text, lang, T0, lex) for title, text, lang in reports]
    warm = [features(title, text, lang, T0, lex) for title, text, lang in reversed(reports)][::-1]
    monkeypatch.setattr(cluster._Vocabulary, "MAX_TOKENS", 5)  # starts afresh every report
    small = [features(title, text, lang, T0, lex) for title, text, lang in reports]
    assert fresh == warm == small


def test_fold_is_nfkd_without_combining_marks() -> None:
    import unicodedata

    from newsletter.cluster import _fold

    def reference(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    samples = ["Bußgeld", "BUSSGELD", "Datenschutzbehörde", "Cafe\u0301", "ﬁne ＭＩＯ", "İstanbul",
               "„Zitat“ – Ärger", "lone \ud800 surrogate", "ǅ", "क़ानून", "שָׁלוֹם", "Ⅻ ½ ²"]
    for text in samples:
        assert _fold(text) == reference(text), text
    assert _fold("Bußgeld") == _fold("BUSSGELD") == "bussgeld"


def test_packed_features_round_trip_and_share_grams_through_a_pool() -> None:
    """What a parser process sends (grams as one string) unpacks to the same features;
    through one pool, a gram two reports share is one object."""
    import pickle

    from newsletter.cluster import PackedFeatures

    lex = load_lexicon()
    when = datetime(2026, 3, 2, tzinfo=timezone.utc)
    a = features("TikTok fined in Ireland", "The regulator fined TikTok 345 million euros.",
                 "en", when, lex)
    b = features("Ireland fines TikTok", "TikTok must pay 345 million euros, the regulator said.",
                 "en", when, lex)
    empty = features("", "", "en", when, lex)
    packed = [pickle.loads(pickle.dumps(PackedFeatures.pack(f))) for f in (a, b, empty)]
    assert all(isinstance(p.grams, str) for p in packed)
    pool: dict[str, str] = {}
    ua, ub, ue = (p.unpack(pool) for p in packed)
    assert (ua, ub, ue) == (a, b, empty) and not ue.grams
    shared = ua.grams & ub.grams
    assert shared
    by_value = {g: g for g in ua.grams}
    assert all(by_value[g] is g for g in ub.grams if g in by_value)
