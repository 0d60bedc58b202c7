"""Tagger quality on sentences written for these tests (English and German), ambiguous
terms with and without context, normalisation, evidence, the seeds, and the dev set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from newsletter.tag import Tagger

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SEEDS = ROOT.parent / "shared" / "seeds"
EXTRA = Path(__file__).parent / "data" / "tagging" / "extra.jsonl"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def topics(tagger: Tagger, title: str, text: str = "") -> tuple[str, ...]:
    return tagger.tag(title, text).topics


# (topic, title, text): each must get the topic
MUST = [
    ("data-access", "Support staff in China could see European users' data", ""),
    ("data-access", "Regierung verlangt Zugriff auf Kundendaten von Cloud-Anbietern", ""),
    ("data-access", "", "Der Mutterkonzern hat eingeräumt, dass Mitarbeiter auf Nutzerdaten zugegriffen haben."),
    ("data-access", "Police obtained location records from the ride-hailing company without telling riders", ""),
    ("bans", "Canada bans WeChat on government-issued phones", ""),
    ("bans", "Ministerium untersagt Beamten die Nutzung von Messenger-Apps auf Diensthandys", ""),
    ("bans", "", "Das Parlament hat ein Verbot der App auf allen Dienstgeräten beschlossen."),
    ("data-localization", "Bank must keep customer data on servers inside the country", ""),
    ("data-localization", "", "Künftig sollen die Daten deutscher Nutzer ausschließlich in Rechenzentren in Frankfurt gespeichert werden."),
    ("data-localization", "Neue Standardvertragsklauseln für Datenübermittlungen in Drittländer", ""),
    ("breaches", "Hackers leak medical records of 40,000 patients", ""),
    ("breaches", "Datenleck bei Mobilfunkanbieter: Millionen Kundendaten abgegriffen", ""),
    ("breaches", "", "Unbekannte haben Passwörter und E-Mail-Adressen von Nutzern im Netz veröffentlicht."),
    ("surveillance", "Government used spyware against human rights lawyers", ""),
    ("surveillance", "Innenminister will Gesichtserkennung an Bahnhöfen durch die Bundespolizei", ""),
    ("surveillance", "", "Der Geheimdienst soll verschlüsselte Chats mitlesen dürfen, bevor sie verschlüsselt werden."),
    ("tracking", "Shopping app shared users' location with ad networks for targeted advertising", ""),
    ("tracking", "Webseiten setzen Tracking-Cookies ohne Einwilligung der Besucher", ""),
    ("tracking", "Data broker sold browsing histories of millions of people", ""),
    ("enforcement", "Data protection authority fines retailer €2m over CCTV in changing rooms", ""),
    ("enforcement", "Datenschutzbehörde verhängt Bußgeld gegen Klinikbetreiber", ""),
    ("enforcement", "Court rules police database of activists was unlawful", ""),
    ("legislation", "Parliament passes law restricting police use of facial recognition", ""),
    ("legislation", "Bundesregierung legt Entwurf für ein neues Beschäftigtendatenschutzgesetz vor", ""),
    ("children", "Game maker must get parental consent before collecting kids' data", ""),
    ("children", "Plattformen sollen das Alter ihrer Nutzer prüfen, um Kinder zu schützen", "Die Altersprüfung soll ohne Ausweiskopie auskommen."),
]

# (topic, title, text): none of these may get the topic (ambiguous words without context)
MUST_NOT = [
    ("bans", "Council bans fireworks in the city centre", ""),
    ("bans", "Stadt erlässt Verbot für Laubbläser", ""),
    ("bans", "Platform bans user account for harassment", ""),
    ("enforcement", "Driver fined £100 for speeding", ""),
    ("enforcement", "Kartellamt verhängt Strafe gegen Zementhersteller", ""),
    ("enforcement", "EU fines chipmaker €1bn for abusing its dominance in competition case", ""),
    ("data-localization", "New data centre will heat 2,000 homes with waste heat", ""),
    ("data-localization", "Rechenzentren verbrauchen immer mehr Strom", ""),
    ("breaches", "Leaked trailer reveals plot of the next superhero film", ""),
    ("breaches", "Undichte Wasserleitung: Leck im Rathaus", ""),
    ("tracking", "Team is on track to win the league", ""),
    ("surveillance", "Hospital improves patient monitoring with new sensors", ""),
    ("children", "Children's book festival opens in Leipzig", ""),
    ("children", "Apple will scan photos for child sexual abuse material", ""),
    ("legislation", "Parliament passes new budget with higher defence spending", ""),
    ("data-access", "Customers gain access to new features in the app", ""),
]

NOT_PRIVACY = [
    ("TikTok launches longer videos for creators", "The company said users can now upload clips of up to ten minutes."),
    ("Google shares rise after strong quarter", "Advertising revenue grew 12% in the quarter."),
    ("Bundestag beschließt Verbot von Einwegplastik", "Ab 2027 dürfen Strohhalme nicht mehr verkauft werden."),
    ("Rechenzentrum in Hessen eröffnet", "Der Betreiber setzt auf Ökostrom und Abwärmenutzung."),
]


@pytest.mark.parametrize("topic,title,text", MUST)
def test_must_tag(tagger: Tagger, topic: str, title: str, text: str) -> None:
    res = tagger.tag(title, text)
    assert topic in res.topics, (res.topics, tagger.debug(title, text))
    assert res.evidence[topic], "every tag carries evidence"


@pytest.mark.parametrize("topic,title,text", MUST_NOT)
def test_must_not_tag(tagger: Tagger, topic: str, title: str, text: str) -> None:
    assert topic not in topics(tagger, title, text)


@pytest.mark.parametrize("title,text", NOT_PRIVACY)
def test_not_privacy_news(tagger: Tagger, title: str, text: str) -> None:
    assert topics(tagger, title, text) == ()


def test_ban_needs_an_app_or_device(tagger: Tagger) -> None:
    assert "bans" in topics(tagger, "Behörde verbietet TikTok auf Diensthandys")
    assert "bans" not in topics(tagger, "Behörde verbietet Dieselautos in der Innenstadt")


def test_fine_needs_privacy_context(tagger: Tagger) -> None:
    assert "enforcement" in topics(tagger, "Company fined over GDPR violations")
    assert "enforcement" not in topics(tagger, "Company fined over late tax filings")


def test_passing_mention_in_a_clause_does_not_tag(tagger: Tagger) -> None:
    text = ("The app, which is popular with teenagers, added a new video editor. "
            "Sales rose in Europe.")
    assert "children" not in topics(tagger, "App adds video editor", text)


def test_headline_weighs_more_than_body(tagger: Tagger) -> None:
    # the same weak cue: enough in the headline, not in one body sentence
    assert "data-localization" in topics(tagger, "Messenger nutzt Server in China", "")
    assert "data-localization" not in topics(tagger, "Neuer Messenger", "Er nutzt Server in China.")


def test_normalisation_entities_quotes_soft_hyphens(tagger: Tagger) -> None:
    res = tagger.tag("Daten\u00adleck bei Versicherer", "Kunden&#8217;s Daten wurden gestohlen &amp; ver\u00f6ffentlicht.")
    assert "breaches" in res.topics
    assert any("Datenleck" in p for p in res.evidence["breaches"])
    assert "tracking" in topics(tagger, "Sites set \u201ctracking cookies\u201d on users")


def test_compounds_and_inflections(tagger: Tagger) -> None:
    assert "data-access" in topics(tagger, "", "Beschäftigte konnten auf Nutzerdaten zugreifen.")
    assert "bans" in topics(tagger, "Diensthandys: Regierung sperrt chinesische Apps")
    assert "data-localization" in topics(tagger, "", "Die Nutzerdaten liegen in Rechenzentren in Irland.")
    assert "surveillance" in topics(tagger, "Gesichtserkennungssysteme der Polizei im Einsatz")
    assert "bans" in topics(tagger, "States are banning the app on government devices")


def test_topics_in_taxonomy_order_and_evidence_short(tagger: Tagger) -> None:
    res = tagger.tag("Datenschutzbehörde verhängt Bußgeld: Kinderdaten ohne Einwilligung an Dritte weitergegeben", "")
    assert list(res.topics) == [t for t in tagger.topic_ids if t in res.topics]
    for phrases in res.evidence.values():
        assert all(len(p) <= tagger.settings.max_phrase_chars for p in phrases)
    assert set(res.evidence) == set(res.topics)


def test_interface(tagger: Tagger) -> None:
    assert tagger.topic_ids == ("data-access", "bans", "data-localization", "breaches",
                                "surveillance", "tracking", "enforcement", "legislation", "children")
    assert set(tagger.labels) == set(tagger.topic_ids) == set(tagger.weights)
    assert Tagger.load() is Tagger.load()  # compiled once
    assert tagger.tag("", "").topics == ()


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(prefix + "*")).read_text(encoding="utf-8")


@pytest.mark.skipif(not SEEDS.exists(), reason="shared seeds not present")
def test_seeds(tagger: Tagger) -> None:
    bytedance = _seed("000_")
    lines = [ln for ln in bytedance.splitlines() if ln.strip()]
    assert "data-access" in tagger.tag(lines[1], "\n".join(lines[2:])).topics
    clover = tagger.tag("TikTok: Project Clover", _seed("003_"))
    assert {"data-localization", "bans"} <= set(clover.topics)
    assert any("Verbot" in p for p in clover.evidence["bans"])


def _score(path: Path):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import eval_tagging
    finally:
        sys.path.pop(0)
    return eval_tagging.evaluate(eval_tagging.load(path))


@pytest.mark.skipif(not DEV.exists(), reason="dev set not present")
def test_dev_set_quality() -> None:
    rep = _score(DEV)
    assert rep.micro[2] >= 0.90, "\n".join(rep.errors)
    for t in rep.topics:
        assert rep.prf(t)[2] >= 0.80, t
    assert min(rep.relevance) >= 0.95


def test_own_bilingual_set_quality() -> None:
    rep = _score(EXTRA)
    assert rep.micro[2] >= 0.85, "\n".join(rep.errors)
    assert rep.relevance[0] == 1.0


def test_extra_set_is_well_formed() -> None:
    for line in EXTRA.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert {"id", "lang", "title", "text", "topics"} <= set(item)


# General phrasings of each topic (blind-set error analysis): sentences written for
# these tests. (topic, title, text, must) - must=False: the topic must not be tagged.
GENERAL = [
    ("legislation", "Bundestag beschließt Reform des Datenschutzrechts", "", True),
    ("legislation", "Parliament passes bill to overhaul data protection rules", "", True),
    ("legislation", "Justizministerium legt Referentenentwurf zur Vorratsdatenspeicherung vor", "", True),
    ("legislation", "EU-Kommission schlägt Digital-Omnibus vor: DSGVO soll gelockert werden", "", True),
    ("legislation", "Regulator publishes guidance on cookie consent banners", "", True),
    ("legislation", "Senate approves amendment to state privacy act", "", True),
    ("legislation", "Neue Verordnung zur Speicherung von Gesundheitsdaten in Kraft getreten", "", True),
    ("legislation", "Datenschutzkonferenz veröffentlicht Leitlinien zu KI und personenbezogenen Daten", "", True),
    ("legislation", "State's new biometric privacy law takes effect", "", True),
    ("legislation", "Governor signs bill requiring age verification for social media accounts", "", True),
    ("legislation", "Neues Gesetz zur Grundsteuer tritt in Kraft", "", False),
    ("legislation", "New law on parental leave passed by parliament",
     "The law gives parents of children under 3 more time off.", False),
    ("legislation", "Government publishes guidelines on healthy school meals", "", False),
    ("legislation", "City bans e-scooters from pavements", "The new rules take effect on Monday.", False),
    ("data-access", "Telecom handed over customer call records to police without a warrant", "", True),
    ("data-access", "Provider muss Nutzerdaten an Ermittler herausgeben", "", True),
    ("data-access", "Google received 50,000 law enforcement requests for user data last year", "", True),
    ("data-access", "Prosecutors subpoena messaging app for users' chat logs", "", True),
    ("data-access", "Employees at the ride-hailing firm viewed celebrities' trip data", "", True),
    ("data-access", "Behörden erhalten Auskunft über Bestandsdaten von Telekom-Kunden", "", True),
    ("data-access", "Hospitals share patient data with an AI company", "", True),
    ("data-access", "Carmaker shared drivers' data with insurers", "", True),
    ("data-access", "", "Die App gab die Standortdaten ihrer Nutzer an Werbetreibende weiter.", True),
    ("data-access", "Users can now download and access all their data in one place", "", False),
    ("data-access", "Nutzer können ihre gespeicherten Daten jetzt selbst einsehen", "", False),
    ("data-access", "Open data portal gives citizens access to city budget data", "", False),
    ("data-access", "Statistics office uses data from tax authorities to estimate growth", "", False),
    ("bans", "Ministry bars staff from using Chinese chatbot on work devices", "", True),
    ("bans", "Bundesländer untersagen Einsatz von Microsoft Teams an Schulen", "", True),
    ("bans", "Regulator bans schools from using Chromebooks", "", True),
    ("bans", "Government bans exports of computer chips to China", "", False),
    ("bans", "Stadt verbietet Silvesterfeuerwerk in der Altstadt", "", False),
    ("data-localization", "Cloud provider to keep EU customers' data within Europe", "", True),
    ("data-localization", "", "Weil die Daten dabei in die USA gelangen, fehle eine Rechtsgrundlage für die Drittstaatenübermittlung.", True),
    ("data-localization", "", "The feature is withdrawn for users in the UK after the government demanded access to encrypted data stored in the cloud.", False),
    ("breaches", "Krankenkasse: Versichertendaten im Darknet aufgetaucht", "", True),
    ("breaches", "", "Die Telefonnummern der Nutzer waren für alle einsehbar.", True),
    ("breaches", "Details of transfer bid leaked to the press", "Information about the club's offer was leaked.", False),
    ("breaches", "", "Critics warn that the ID database could become a target for hackers.", False),
    ("surveillance", "Geheimdienst darf Messenger-Nachrichten mitlesen", "", True),
    ("surveillance", "Former employees charged with spying for a foreign state", "", True),
    ("surveillance", "Agencies may intercept communications of foreigners without a warrant", "", True),
    ("surveillance", "Onlinehändler soll Beschäftigte per Video überwacht haben", "", False),
    ("surveillance", "Firma überwacht Lagerbestände mit Kameras", "Die Kameras überwachen die Regale im Lager.", False),
    ("tracking", "", "The system compares image fingerprints against a database of known pictures.", False),
    ("enforcement", "Datenschutzbeauftragter hält Einsatz der Software an Schulen für unzulässig", "", True),
    ("enforcement", "", "Datenschützer halten den Einsatz für rechtswidrig und fordern ein Gesetz.", False),
    ("enforcement", "", "The firm kept user data it had obtained in violation of the platform's policies.", False),
    ("children", "", "The 15-year-old data-sharing agreement was struck down.", False),
    ("children", "Online-Plattformen müssen Alter der Nutzer prüfen", "", True),
]



def test_evidence_has_no_dangling_quotes(tagger: Tagger) -> None:
    from newsletter.tag.tagger import _clean_phrase

    assert _clean_phrase('Clover" Daten von europäischen') == "Clover Daten von europäischen"
    assert _clean_phrase('the "Project Clover" data') == 'the "Project Clover" data'
    assert _clean_phrase("children's 'privacy") == "children's privacy"
    assert _clean_phrase("(see data") == "see data"
    res = tagger.tag('ByteDance: "Project Clover" Daten von europäischen Nutzern bleiben in Europa', "")
    for phrases in res.evidence.values():
        for ph in phrases:
            assert ph.count('"') % 2 == 0 and len(ph) <= 60, ph


# Phrasings from the second blind round (more_*.jsonl, split a): written for these tests.
# The subject of a law may be set by the headline or the sentence before ("wide" context).
GENERAL_2 = [
    ("legislation", "Streit um Vorratsdatenspeicherung",
     "Das Bundeskabinett hat den Gesetzentwurf am Mittwoch gebilligt.", True),
    ("legislation", "Encryption row",
     "The bill was passed by the House of Lords on Tuesday.", True),
    ("legislation", "Governor signs bill that bans the app on state devices", "", True),
    ("legislation", "Senat stimmt für Gesetz, das die App verbieten würde", "", True),
    ("legislation", "Snooper's charter becomes law", "", True),
    ("legislation", "Regierung einigt sich auf Altersgrenze für soziale Medien", "", True),
    ("legislation", "Regeln für personalisierte Werbung",
     "Seit heute gelten die Pflichten aus dem neuen Gesetz für große Plattformen.", True),
    ("legislation", "Parliament passes law on road tolls",
     "The cabinet approved the bill on Tuesday.", False),
    ("legislation", "Stadt verbietet E-Scooter auf Gehwegen",
     "Der Stadtrat hat die Verordnung am Dienstag beschlossen.", False),
    ("legislation", "Court scraps data transfer pact", "", False),
    ("surveillance", "Ermittler erfassen Millionen Handydaten per Funkzellenabfrage", "", True),
    ("surveillance", "Polizei glich Gesichter von Passanten mit Fahndungsfotos ab", "", True),
    ("surveillance", "", "Police analysed the phone data of thousands of protesters.", True),
    ("surveillance", "", "Die Behörden haben monatelang die Kommunikation auf verschlüsselten Handys mitgelesen.", True),
    ("surveillance", "Law would force messaging apps to weaken encryption", "", True),
    ("surveillance", "Government demands a back door to encrypted cloud backups", "", True),
    ("surveillance", "Statistics office collects data on household spending", "", False),
    ("surveillance", "Photo app must delete facial recognition models trained on users' pictures", "", False),
    ("surveillance", "Police collect evidence at the crime scene", "", False),
    ("data-access", "Doorbell maker gave camera footage to police without owners' consent", "", True),
    ("data-access", "Hersteller gab Kameravideos ohne Zustimmung an die Polizei weiter", "", True),
    ("data-access", "Carmakers sharing drivers' driving behaviour with insurance companies", "", True),
    ("bans", "Browser will block third-party cookies by default", "", False),
    ("bans", "", "Under the law, police can demand that platforms remove content.", False),
]



# Phrasings added from error analysis (round 3): orders by regulators and courts, competition
# fines, app bans versus bans of practices, data left to authorities, face recognition firms.
GENERAL_3 = [
    ("enforcement", "Regulator orders hospital chain to stop sharing patient data", "", True),
    ("enforcement", "Datenschutzbehörde untersagt Stadt den Einsatz der Gesichtserkennung", "", True),
    ("enforcement", "Data protection authority bans school from using cloud office suite", "", True),
    ("enforcement", "Streit um Standortdaten",
     "Das Oberlandesgericht hat die Beschwerde des Netzbetreibers abgewiesen.", True),
    ("enforcement", "Online tracking case",
     "A jury ordered the app maker to pay users $40 million.", True),
    ("enforcement", "Verbraucherschützer verklagen Fahrdienst wegen Werbe-Tracking", "", True),
    ("enforcement", "Chocolate maker fined over cartel to keep prices high", "", False),
    ("enforcement", "Wettbewerbshüter verhängen Bußgeld gegen Cookie-Hersteller wegen Preisabsprachen", "", False),
    ("enforcement", "", "The software vendor has told customers that a hacker accessed their data.", False),
    ("enforcement", "", "Liegt eine Anordnung aus Washington vor, muss der Konzern die Daten herausgeben.", False),
    ("enforcement", "", "Payment apps such as Google Pay will have to keep data in the country.", False),
    ("bans", "Providers start blocking messaging service after court ruling", "", True),
    ("bans", "", "Russische Internetprovider sperren den Dienst seit Montag.", True),
    ("bans", "", "Stunden vor Inkrafttreten des Verbotsgesetzes stellte TikTok den Dienst ein.", True),
    ("bans", "", "Die Aufsicht hat dem Konzern untersagt, Daten von WhatsApp-Nutzern zu speichern.", False),
    ("bans", "Watchdog bars app maker from selling location data", "", False),
    ("bans", "", "Police were told to delete the biometric database of the app.", False),
    ("data-access", "", "Der Hersteller hat Behörden Aufnahmen seiner Kameras überlassen.", True),
    ("data-access", "", "Officials said data on staff could fall into the wrong hands.", True),
    ("data-access", "", "Es bestehe das Risiko, dass Informationen über Beamte in falsche Hände geraten.", True),
    ("surveillance", "Bußgeld gegen Anbieter von Gesichtserkennung", "", True),
    ("surveillance", "Face recognition firm fined",
     "The company built a database of billions of photos scraped from the web.", True),
    ("surveillance", "Photo app fined over lost database of holiday photos", "", False),
    ("legislation", "Central bank directs payment firms to store data only in the country", "", True),
    ("legislation", "Aufsicht verpflichtet Zahlungsdienstleister, Daten im Inland zu speichern", "", True),
    ("legislation", "", "The order was issued under the Investigatory Powers Act.", False),
]



GENERAL_4 = [
    ("bans", "", "Das Kartellamt will ein Verbot durchsetzen, Nutzerdaten aus mehreren Apps zusammenzuführen.", False),
    ("data-access", "Regulator bars broker from selling sensitive location data", "", False),
    ("data-access", "Carmaker sold drivers' data to insurers", "", True),
]



# authorities querying or unlocking, apps reaching into a phone, state encryption demands,
# location records going to the state; each with a near-miss
GENERAL_5 = [
    ("data-access", "Staatsanwälte ließen Tausende Kontenabrufe beim Bundeszentralamt durchführen", "", True),
    ("data-access", "", "Police in the county requested tower dumps from three carriers last year.", True),
    ("data-access", "", "Die Bank muss den Ermittlern die E-Mails ihres Kunden aushändigen.", True),
    ("data-access", "", "Investigators want the vendor to help them unlock the suspect's phone.", True),
    ("data-access", "", "Die Polizei konnte das Handy des Verdächtigen nicht entsperren.", True),
    ("data-access", "", "Officials said the tool's permissions give it access to the contents of a phone.", True),
    ("data-access", "", "Die Software hat weitreichenden Zugriff auf Dateien auf dem Rechner, warnte das Ministerium.", True),
    ("data-access", "", "Die Kommunistische Partei könnte über die App an private Daten der Nutzer gelangen.", True),
    ("data-access", "", "Users can unlock their phone with a fingerprint in the new update.", False),
    ("data-access", "", "Parents' requests to delete the recordings were ignored, the Justice Department said.", False),
    ("data-access", "", "Mit dem Staatstrojaner sollen Ermittler Chats vor der Verschlüsselung abgreifen.", False),
    ("bans", "", "Nutzer können ihr Smartphone per Gesichtsscan entsperren.", False),
    ("surveillance", "", "The law lets police compel providers to open encrypted messages.", True),
    ("surveillance", "", "Die Regierung will Anbieter verpflichten, verschlüsselte Nachrichten für Ermittler zu öffnen.", True),
    ("surveillance", "", "Kritiker fürchten, dass der Geheimdienst Einblick in die Kommunikation der Nutzer erhält.", True),
    ("surveillance", "", "A military unit bought location data collected by a prayer app.", True),
    ("surveillance", "", "Die Bundespolizei erhielt Bewegungsdaten von einem Datenhändler.", True),
    ("surveillance", "", "The company gets insight into customers' shopping habits.", False),
    ("surveillance", "", "Das Unternehmen erhält Standortdaten seiner Kunden für Werbung.", False),
]



# laws signed in German, police-powers laws, DPA findings, court action, criminal
# investigations (not privacy enforcement), ISPs cutting access, minors kept off platforms
GENERAL_6 = [
    ("legislation", "", "Der Gouverneur hat ein Gesetz unterzeichnet, das die App auf allen Geräten im Bundesstaat verbietet.", True),
    ("legislation", "", "The governor signed a bill that bans the app statewide, with fines for stores that keep offering it.", True),
    ("legislation", "Landtag verabschiedet umstrittenes Polizeiaufgabengesetz", "", True),
    ("enforcement", "Fitness app fined over default settings",
     "The data protection authority found that the company shared workout routes publicly by default.", True),
    ("enforcement", "", "Die Datenschutzbehörde stellte fest, dass der Händler Kundendaten ohne Einwilligung weitergab.", True),
    ("enforcement", "", "Verbraucherschützer ziehen wegen der Weitergabe von Nutzerdaten gegen den Konzern vor Gericht.", True),
    ("enforcement", "", "Die Polizei nutzte die Kontaktdaten der Gäste für Ermittlungen in einem Mordfall.", False),
    ("enforcement", "Parliament debates the new Investigatory Powers Bill", "", False),
    ("enforcement", "", "A survey found that most companies still ignore privacy requests.", False),
    ("bans", "", "Internet providers have started cutting off access to the messaging app on the regulator's order.", True),
    ("bans", "", "Die Regierung will Kinder unter 15 Jahren von sozialen Medien fernhalten.", True),
    ("bans", "", "New rules require platforms to keep under-16s off social media.", True),
    ("bans", "", "The new router keeps intruders off your home network.", False),
]



# a breach story set by the headline is not data access; ad partners getting data is tracking
GENERAL_7 = [
    ("data-access", "Hackers stole payroll files of three airlines",
     "The staff data was then shared on a forum with other criminals.", False),
    ("data-access", "Cyberangriff auf Schulsoftware",
     "Die Angreifer verschafften sich Zugriff auf Datenbanken mit Schülerdaten.", False),
    ("data-access", "Audit: employees of the insurer looked up customer records", "", True),
    ("tracking", "", "The app sent users' precise location to dozens of advertising partners.", True),
    ("tracking", "", "Die App hat GPS-Standorte ihrer Nutzer an Werbepartner übermittelt.", True),
    ("tracking", "", "The company shared quarterly figures with its advertising partners.", False),
    ("tracking", "Verlage setzen auf Pur-Abo statt Einwilligung in Werbetracking", "", True),
]



# data disclosed by mistake or visible to strangers is a breach; a reporting duty is not
GENERAL_8 = [
    ("breaches", "", "The council mistakenly published the names and addresses of 2,000 tenants online.", True),
    ("breaches", "", "Die Klinik hat versehentlich Namen von Patienten an einen falschen Verteiler verschickt.", True),
    ("breaches", "", "Über eine ungeschützte Schnittstelle waren Fotos der Nutzer für Fremde einsehbar.", True),
    ("breaches", "", "Firms must report data breaches to the regulator within 72 hours.", False),
    ("breaches", "", "Künftig gilt eine Meldepflicht für Datenpannen bei Behörden.", False),
    ("breaches", "", "The startup mistakenly published its quarterly results a day early.", False),
]



# bans: toys and connected cars, apps pulled from stores, what the headline names
GENERAL_9 = [
    ("bans", "Netzagentur verbietet sprechende Puppe mit Mikrofon", "", True),
    ("bans", "", "Apple pulled the messenger from its App Store in the country at the government's request.", True),
    ("bans", "", "Die App fliegt auf Anordnung der Regierung aus den App-Stores.", True),
    ("bans", "US moves to bar connected vehicles with Chinese software", "", True),
    ("bans", "Chinese chatbot faces scrutiny", "The ministry banned it on all official devices on Friday.", True),
    ("bans", "Chatbot answers questions about elections", "The city banned fireworks on New Year's Eve.", False),
    ("bans", "", "Die Stadt verbietet Dieselautos in der Innenstadt.", False),
    ("bans", "", "Die Firma darf nach der Übernahme nicht mehr selbst Preise festlegen.", False),
]



# legislation: rules in force, referendums, adequacy decisions; a fine story citing a law is not
GENERAL_10 = [
    ("legislation", "The social media ban for under-16s is now in force", "", True),
    ("legislation", "Altersgrenze für soziale Netzwerke gilt ab heute", "", True),
    ("legislation", "Voters reject digital ID law in referendum", "", True),
    ("legislation", "Stimmvolk versenkt das Gesetz zur elektronischen Identität", "", True),
    ("legislation", "", "The Commission adopted an adequacy decision for transfers to the country.", True),
    ("legislation", "Regulator fined the retailer €5 million",
     "The rules require firms to ask for consent before setting cookies, the GDPR was adopted in 2016.", False),
    ("legislation", "Datenschutzbehörde verhängt Bußgeld gegen Klinik",
     "Die DSGVO gilt seit 2018 und verpflichtet Kliniken zur Sorgfalt.", False),
    ("legislation", "", "The new speed limit is now in force on the motorway.", False),
]



# A headline is explained by its lead sentence: the headline's cue may take its context
# (an authority, a privacy subject) from the first sentence, but a word repeated there
# is no context for itself, and the lead never sets a ``wide`` subject.
HEADLINE_LEAD = [
    ("enforcement", "Grocery chain hit with £2m penalty",
     "The Information Commissioner's Office said the company kept loyalty-card data of shoppers "
     "for years without a legal basis.", True),
    ("enforcement", "Bußgeld von 900.000 Euro gegen Versicherer",
     "Die Landesdatenschutzbehörde wirft dem Unternehmen vor, Kundendaten ohne Einwilligung an "
     "Werbepartner weitergegeben zu haben.", True),
    ("tracking", "Cookies for the holidays",
     "Our favourite cookie recipes need butter, sugar and an hour in the fridge.", False),
    ("surveillance", "Scientists step up surveillance of glacier",
     "Authorities closed the valley after sensors picked up new cracks in the ice.", False),
]


# every table of must/must-not phrasings above, one case per row (ids name the table)
PHRASINGS = {
    "general-1": GENERAL, "general-2": GENERAL_2, "general-3": GENERAL_3, "general-4": GENERAL_4,
    "general-5": GENERAL_5, "general-6": GENERAL_6, "general-7": GENERAL_7, "general-8": GENERAL_8,
    "general-9": GENERAL_9, "general-10": GENERAL_10, "headline-lead": HEADLINE_LEAD,
}


@pytest.mark.parametrize("topic,title,text,must", [
    pytest.param(*case, id=f"{name}-{n}")
    for name, cases in PHRASINGS.items() for n, case in enumerate(cases)])
def test_phrasings(tagger: Tagger, topic: str, title: str, text: str, must: bool) -> None:
    got = topics(tagger, title, text)
    assert (topic in got) is must, (topic, title or text, got)


def test_tagger_compiles_its_matcher_only_when_it_tags() -> None:
    """A build whose items all come from the tag cache needs ids, labels and weights only;
    the cues and matcher are compiled on the first ``tag``, with the same answers."""
    from newsletter.tag import Tagger
    from newsletter.tag.taxonomy import load_builtin

    lazy = Tagger(load_builtin())
    assert lazy.topic_ids and set(lazy.labels) == set(lazy.weights) == set(lazy.topic_ids)
    assert "_compiled" not in vars(lazy) and "_matcher" not in vars(lazy)
    eager = Tagger(load_builtin())
    assert eager._matcher is not None and "_compiled" in vars(eager)
    title = "Regulator fines video app over children's data transfers to China"
    text = "The data protection authority said the company had failed to protect minors."
    assert lazy.tag(title, text) == eager.tag(title, text)
    assert "_compiled" in vars(lazy)
