"""Hand-made digests for the archive, preview and browser tests (issue 7).

They go through the real renderer and writer (``render_digest``, ``write_issue``,
``write_archive``), so the pages under test are the real ones; only the
ingest/tag/merge stages are skipped, which keeps these tests independent of the
tagger's vocabulary. Titles are invented, not from any dev set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from newsletter.archive import write_archive
from newsletter.render import render_digest, write_issue
from newsletter.select import period_ending
from newsletter.types import (Article, Digest, DigestCounts, FeedError, Item, Section, Story,
                              TaggedItem, TagResult)

TZ = ZoneInfo("Europe/Berlin")
LABELS = {
    "data-access": "Data access", "bans": "Bans", "data-localization": "Data localization",
    "breaches": "Breaches", "surveillance": "Surveillance", "tracking": "Tracking",
    "enforcement": "Enforcement", "legislation": "Legislation", "children": "Children",
}


def _story(n: int, title: str, source: str, lang: str, topics: tuple[str, ...], when: datetime,
           *, watch: tuple[str, ...] = (), summary: str | None = None,
           also: tuple[tuple[str, str, str], ...] = (), body: str | None = None) -> Story:
    def tagged(t: str, src: str, lg: str, k: str) -> TaggedItem:
        a = Article(kind="feed", source=src, title=t, text=t, url=f"https://news.example/{k}",
                    published=when, language=lg, body_markdown=body if k == f"s{n}" else None)
        return TaggedItem(item=Item(key=k, article=a, first_seen=when), tags=TagResult())

    lead = tagged(title, source, lang, f"s{n}")
    others = tuple(tagged(t, s, lg, f"s{n}-{i}") for i, (t, s, lg) in enumerate(also))
    return Story(lead=lead, also=others, topics=topics,
                 evidence={t: (f"phrase about {t}",) for t in topics}, watchlist=watch,
                 summary=summary)


def sample_digest(end: datetime, *, week: int = 0) -> Digest:
    """A digest with every section: alerts, top stories, topic sections, overflow, errors."""
    when = end - timedelta(days=2)
    p = period_ending(end, 7, TZ)
    alerts = (
        _story(1 + 100 * week, "Video app's parent firm gave staff in another country access to "
               "European users' messages", "The Daily Example", "en",
               ("data-access", "data-localization"), when, watch=("TikTok",),
               summary="Engineers abroad could read direct messages for two years, internal "
                       "documents show; the regulator has opened an inquiry.",
               also=(("Mitarbeiter im Ausland lasen Direktnachrichten", "Beispiel Online", "de"),)),
        _story(2 + 100 * week, "Landesbehörde verbietet Kurzvideo-App auf Dienstgeräten",
               "Beispiel Online", "de", ("bans",), when, watch=("TikTok",),
               summary="Ab Montag darf die App auf dienstlichen Telefonen nicht mehr installiert "
                       "sein; private Geräte sind nicht betroffen."),
    )
    top = (
        _story(3 + 100 * week, "Regulator fines retailer €12 million over loyalty-card profiling",
               "Privacy Wire", "en", ("enforcement", "tracking"), when,
               summary="The fine is the largest this year for profiling without consent."),
        _story(4 + 100 * week, "Health insurer confirms theft of 2.1 million customer records",
               "Security Desk", "en", ("breaches",), when,
               summary="Names, dates of birth and policy numbers were copied; passwords were "
                       "not affected, the insurer says.",
               body="The insurer **confirmed** the breach on Friday.\n\n- 2.1 million records\n"
                    "- notification letters sent"),
    )
    sections = (
        Section("surveillance", LABELS["surveillance"], (
            _story(5 + 100 * week, "Parlament debattiert Chatkontrolle erneut", "Beispiel Online",
                   "de", ("surveillance", "legislation"), when,
                   summary="Die Abgeordneten streiten über das Scannen verschlüsselter "
                           "Nachrichten."),
            _story(6 + 100 * week, "Police expand live facial recognition to three more cities",
                   "Civic Times", "en", ("surveillance",), when, summary=None),
        )),
        Section("legislation", LABELS["legislation"], (
            _story(7 + 100 * week, "Draft law would require data centres for citizens' records "
                   "to stay in the country", "Policy Letter", "en",
                   ("legislation", "data-localization"), when,
                   summary="The draft also sets new rules for transfers to cloud providers."),
        )),
        Section("children", LABELS["children"], (
            _story(8 + 100 * week, "Age checks for social networks: what the new guidance asks",
                   "Family Tech", "en", ("children",), when,
                   summary="Platforms must show that age assurance keeps as little data as "
                           "possible."),
        )),
    )
    overflow = (_story(9 + 100 * week, "A minor update on cookie banners", "Ad Notes", "en",
                       ("tracking",), when),)
    return Digest(
        issue=p.issue, title="Privacy Alerts", period_start=p.start, period_end=p.end,
        generated_at=end, alerts=alerts, top=top, sections=sections, overflow=overflow,
        feed_errors=(FeedError(feed="Broken feed", url="https://broken.example/feed.xml",
                               error="HTTP 503"),),
        counts=DigestCounts(items_seen=20, items_new=12, candidates=14, tagged=10, untagged=4,
                            stories=9, feeds_total=3, feeds_failed=1),
        intro_markdown="A short **editor's note** for this week.",
        topic_labels=LABELS)


WEEK1_END = datetime(2026, 11, 9, 7, 0, tzinfo=TZ)


def write_sample_issues(out: Path, weeks: int = 3) -> list[str]:
    """Render and write ``weeks`` consecutive issues plus the archive; their ids, oldest first."""
    ids = []
    for w in range(weeks):
        d = sample_digest(WEEK1_END + timedelta(days=7 * w), week=w)
        write_issue(out, d.issue, render_digest(d, tz=TZ))
        ids.append(d.issue)
    write_archive(out, title="Privacy Alerts", tz=TZ)
    return ids
