"""How long merging takes for a busy period (issue 5: 2,000 items in under 2 s).

Usage: python benchmarks/bench_merging.py [N]

Builds N synthetic reports (English and German, spread over three weeks, events reported by
one to four outlets, many sharing a company) and times ``merge_stories``. Prints the time and,
as a sanity check, how many stories came out against how many events went in.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsletter.cluster import merge_stories  # noqa: E402
from newsletter.types import Article, Item, TaggedItem, TagResult  # noqa: E402

COMPANIES = ["TikTok", "Meta", "Google", "Amazon", "Apple", "Microsoft", "Zoom", "Clearview",
             "WhatsApp", "Telegram", "Uber", "Spotify", "LinkedIn", "Snapchat", "Palantir",
             "Oracle", "Temu", "Shein", "Grindr", "Experian", "Equifax", "Avast", "Tesla", "OpenAI"]
COMPANIES += [f"Acme{n}" for n in range(200)]  # many small firms, as in a real week's feeds
PLACES = [("France", "Frankreich"), ("Italy", "Italien"), ("Ireland", "Irland"), ("Spain", "Spanien"),
          ("Germany", "Deutschland"), ("India", "Indien"), ("Canada", "Kanada"), ("Norway", "Norwegen")]
EN = [
    ("{c} fined {a} million euros by {p} data protection authority",
     "The data protection authority of {p} fined {c} {a} million euros for processing personal data "
     "without consent. {c} said it would appeal the decision of the regulator."),
    ("{p} bans {c} on government phones",
     "The government of {p} banned the {c} app on official devices, citing security risks. "
     "Officials said data could be accessed by the company. {c} called the ban misguided."),
    ("{c} admits data of {a} million customers was stolen",
     "Hackers stole names and addresses of {a} million {c} customers, the company said. "
     "The breach was reported to the regulator in {p}."),
]
DE = [
    ("{p_de}: {a} Millionen Euro Bußgeld gegen {c}",
     "Die Datenschutzbehörde in {p_de} hat gegen {c} ein Bußgeld von {a} Millionen Euro verhängt. "
     "{c} will gegen die Entscheidung vorgehen."),
    ("{p_de} verbietet {c} auf Diensthandys",
     "Die Regierung in {p_de} untersagt die App {c} auf dienstlichen Geräten. "
     "Sie befürchtet einen Zugriff auf Daten."),
    ("Datenleck bei {c}: {a} Millionen Kunden betroffen",
     "Hacker haben Namen und Adressen von {a} Millionen Kunden von {c} erbeutet. "
     "Der Vorfall wurde der Behörde in {p_de} gemeldet."),
]


def synthetic(n: int, seed: int = 5) -> tuple[list[TaggedItem], int]:
    rnd = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    items: list[TaggedItem] = []
    events = 0
    while len(items) < n:
        events += 1
        kind = rnd.randrange(3)
        c = rnd.choice(COMPANIES)
        p, p_de = rnd.choice(PLACES)
        a = rnd.randint(2, 900)
        when = start + timedelta(hours=rnd.randint(0, 21 * 24))
        for r in range(rnd.choice([1, 1, 2, 3, 4])):
            lang = rnd.choice(["en", "de"])
            title, text = (EN if lang == "en" else DE)[kind]
            fields = {"c": c, "p": p, "p_de": p_de, "a": a}
            key = f"e{events}-r{r}"
            article = Article(kind="feed", source=f"Outlet {r}", title=title.format(**fields),
                              text=text.format(**fields), language=lang, guid=key,
                              published=when + timedelta(hours=rnd.randint(0, 36)))
            items.append(TaggedItem(item=Item(key=key, article=article, first_seen=when),
                                    tags=TagResult(topics=("enforcement",))))
    return items[:n], events


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    items, events = synthetic(n)
    merge_stories(items[:50])  # load the lexicon once, as a running process would have
    t0 = time.perf_counter()
    stories = merge_stories(items)
    elapsed = time.perf_counter() - t0
    print(f"merged {n} items into {len(stories)} stories ({events} events generated) "
          f"in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
