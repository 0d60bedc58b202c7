"""Tagger mechanisms that generalise beyond single phrasings (issue 4): each case was
written for these tests, in English and German, as a must or a must-not."""

from __future__ import annotations

import pytest

from newsletter.tag import Tagger


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


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



# A ban of a named app or service is privacy news by itself; a ban of a device or generic
# tech only with a privacy or security reason (in the sentence, the lead, or before).
BANS_REASON = [
    ("bans", "Ministry bans messaging app on staff phones", "", True),
    ("bans", "Town bans e-scooters from the old quarter",
     "The devices may no longer be parked on pavements.", False),
    ("bans", "Gemeinde verbietet Laubbläser",
     "Die Geräte sind ab dem Frühjahr im Ortskern verboten.", False),
    ("bans", "Army bans smartwatches at bases",
     "Officers fear the devices could reveal soldiers' locations to foreign intelligence.", True),
    ("bans", "Behörde verbietet vernetzte Kameras in Amtsstuben",
     "Grund sind Sicherheitsbedenken wegen möglicher Spionage.", True),
    ("bans", "Streit über neue Fitnessarmbänder im Ministerium",
     "Wegen Sicherheitsbedenken sind die Geräte auf Dienstreisen nun verboten.", True),
]



# German verbs bracket their object ("legt einen Entwurf vor"): the noun inside a gap
# term's gap is not the verb, so each can be the other's context.
GAP_CONTEXT = [
    ("legislation", "Ministerium legt Entwurf für Beschäftigtendatenschutz vor", "", True),
    ("legislation", "Kabinett bringt Gesetz zur Videoüberwachung auf den Weg", "", True),
    ("legislation", "Minister legt Haushaltsentwurf für Straßenbau vor", "", False),
]



# A rule taking effect is legislation when the subject set before it is privacy, named as
# such; "data" alone (energy data, tax data) is not.
IN_FORCE_SUBJECT = [
    ("legislation", "Firms must report energy data",
     "The new rules take effect on Monday.", False),
    ("legislation", "Unternehmen müssen Verbrauchsdaten melden",
     "Die neuen Regeln treten am Montag in Kraft.", False),
    ("legislation", "Stricter consent duties for cookies",
     "The new rules take effect on Monday.", True),
    ("legislation", "Strengere Pflichten für Cookie-Banner",
     "Die neuen Regeln treten am Montag in Kraft.", True),
]



# A veto in the lead binds a headline cue only when the cue takes context from the lead:
# a headline that names the ban and the app stands on its own words.
LEAD_VETO = [
    ("bans", "Behörde sperrt Chatbot-App",
     "Die Datenschutzbehörde hat dem Anbieter untersagt, Daten von Nutzern im Land zu verarbeiten.",
     True),
    ("bans", "Government bans messaging app",
     "The ministry said the move would prohibit the developer from selling subscriptions in the "
     "country.", True),
    ("bans", "Regierung verbietet Messenger-App",
     "Das Ministerium untersagt dem Anbieter zudem, Konten neuer Nutzer zu eröffnen.", True),
    ("bans", "Platform bans accounts of spammers",
     "The company said it had removed the accounts for violating its rules.", False),
    ("bans", "Plattform sperrt Konten von Betrügern",
     "Das Unternehmen entfernte die Konten wegen Verstößen gegen die Regeln.", False),
]



# Data access in its verb families, EN and DE, with their inflections: handing over
# (herausgeben, gab ... heraus), fetching (abrufen, fragte ... ab, griffen ... zu), demanding
# (fordert ... an, Anfragen), spying (spähten ... aus), letting others read; German separable
# verbs close the clause far from their stem. Hackers, people's own data and a trophy are not.
DATA_ACCESS_FAMILIES = [
    ("data-access", "", "Die Bank gab die Kontodaten an die Steuerbehörde heraus.", True),
    ("data-access", "", "Der Anbieter rückte die Chatverläufe der Nutzer an die Ermittler heraus.", True),
    ("data-access", "", "Ermittler griffen auf die Standortdaten von Tausenden Handys zu.", True),
    ("data-access", "", "Die Polizei forderte von dem Konzern die Daten des Verdächtigen an.", True),
    ("data-access", "", "Ein Polizist fragte die Daten seiner Ex-Freundin im Polizeisystem ab.", True),
    ("data-access", "", "Mitarbeiter spähten die Daten prominenter Kunden aus.", True),
    ("data-access", "", "Behörden stellten im vergangenen Jahr mehr Anfragen zu Nutzerdaten.", True),
    ("data-access", "", "Polizisten haben unerlaubt Daten aus dem Melderegister abgerufen.", True),
    ("data-access", "Jobcenter fordern Kontoauszüge von Leistungsbeziehern an", "", True),
    ("data-access", "Ausländerbehörde darf Handydaten von Geflüchteten auslesen", "", True),
    ("data-access", "Vermieter verlangen immer mehr Daten von Mietinteressenten", "", True),
    ("data-access", "", "The hospital shared patient data with a technology company.", True),
    ("data-access", "Tax agency to hand immigrants' addresses to ICE", "", True),
    ("data-access", "Meta let a streaming service read users' private messages, lawsuit claims", "",
     True),
    ("data-access", "", "Employers are increasingly reading their workers' emails and chat messages.",
     True),
    ("data-access", "Police obtained suspect's search history from search engine with a warrant", "",
     True),
    ("data-access", "Beijing could get hold of Europeans' genetic data, report warns", "", True),
    ("data-access", "", "Die Hacker griffen auf die Daten von Millionen Kunden zu.", False),
    ("data-access", "", "Nutzer können ihre eigenen Daten nun herunterladen.", False),
    ("data-access", "", "The update gives users access to their data.", False),
    ("data-access", "", "Die Stadt übergab den neuen Spielplatz an die Bürger.", False),
    ("data-access", "", "Der Verein gab am Montag die Aufstellung für das Spiel heraus.", False),
    ("data-access", "Police ask public to share videos of the riot", "", False),
]



# Bans in their verb families: shut down, block access, cut off, suspend, pull from the
# stores, off limits, abschalten, sperren, aus dem App Store, darf nicht mehr. A state, a
# court or an institution must stand next to the verb: a company retiring its own app, a
# platform's own rules ("Facebook bans deepfakes") and a closed road are no bans.
BANS_FAMILIES = [
    ("bans", "Government shuts down messaging app over security fears", "", True),
    ("bans", "", "The government suspended the operations of the ride-hailing app over data "
     "security concerns.", True),
    ("bans", "Court orders messenger suspended nationwide", "", True),
    ("bans", "", "Regulators ordered Apple and Google to remove the app from their stores.", True),
    ("bans", "China orders removal of ride-hailing app from app stores", "", True),
    ("bans", "Apple nimmt VPN-Apps in China aus dem App Store", "", True),
    ("bans", "", "The app is now off-limits on all federal devices.", True),
    ("bans", "", "Federal employees may no longer use the app on government-issued devices.", True),
    ("bans", "Bundesland schaltet Videokonferenz-Software an Schulen ab", "", True),
    ("bans", "Polizei darf keine Gesichtserkennung mehr einsetzen", "", True),
    ("bans", "Russia blocks Facebook and Twitter", "", True),
    ("bans", "Russland sperrt YouTube", "", True),
    ("bans", "Venezuela cuts access to Signal", "", True),
    ("bans", "Navy tells sailors to delete chatbot app from their phones", "", True),
    ("bans", "", "The company shut down its app for older phones because of low demand.", False),
    ("bans", "", "Der Konzern schaltet den alten Dienst Ende des Jahres ab, weil er sich nicht "
     "mehr lohnt.", False),
    ("bans", "Facebook bans deepfakes", "", False),
    ("bans", "YouTube removes misinformation videos", "", False),
    ("bans", "Stadt sperrt Brücke für Lastwagen", "", False),
    ("bans", "Bundestag verbietet Lachgas für Minderjährige",
     "Der Verkauf an Kinder ist künftig untersagt, ebenso der Vertrieb über Automaten.", False),
    ("bans", "", "Die Straße war nach dem Unfall gesperrt.", False),
]



# Tracking in its families: loyalty cards and personalised prices, browsing data, profiles
# built for ads, data passed on to advertisers with German separable verbs (gibt ... weiter).
# The police tracking a suspect, parcels tracked and cookies baked are not.
TRACKING_FAMILIES = [
    ("tracking", "Retailer uses loyalty card data to profile shoppers", "", True),
    ("tracking", "Supermarkt nutzt Daten aus Kundenkarten für personalisierte Preise", "", True),
    ("tracking", "Browser extension harvested browsing data of millions", "", True),
    ("tracking", "Ad networks build profiles of users across sites", "", True),
    ("tracking", "Werbefirmen erstellen Profile für gezielte Werbung", "", True),
    ("tracking", "Autos sammeln Daten über Fahrer und geben sie an Werbefirmen weiter", "", True),
    ("tracking", "Police track down suspect using phone data", "", False),
    ("tracking", "Company tracks shipments in real time", "", False),
    ("tracking", "Bakery sells cookies at Christmas market", "", False),
    ("tracking", "Dating app users create fake profiles", "", False),
]


MECHANISMS = {
    "enforcement-subject": ENFORCEMENT_SUBJECT, "device-bans-reason": BANS_REASON,
    "gap-context": GAP_CONTEXT, "in-force-subject": IN_FORCE_SUBJECT, "lead-veto": LEAD_VETO,
    "data-access-families": DATA_ACCESS_FAMILIES, "bans-families": BANS_FAMILIES,
    "tracking-families": TRACKING_FAMILIES,
}


@pytest.mark.parametrize("topic,title,text,must", [
    pytest.param(*case, id=f"{name}-{n}")
    for name, cases in MECHANISMS.items() for n, case in enumerate(cases)])
def test_mechanism(tagger: Tagger, topic: str, title: str, text: str, must: bool) -> None:
    got = tagger.tag(title, text).topics
    assert (topic in got) is must, (topic, title or text, got)
