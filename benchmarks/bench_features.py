"""How long the merge features of a report take (``cluster.features``, a hot spot of a cold build).

Usage: python benchmarks/bench_features.py [--articles PKL | --synthetic N] [--reference REV]
                                           [--repeat R]

Two corpora:
(a) feed items: the pickled list of ``Article`` at ``--articles`` (default /tmp/arts.pkl when it
    exists), else N synthetic English and German privacy-news reports made here;
(b) the evaluation texts: /work/shared/eval/dev.jsonl (when present), tests/data/tagging/*.jsonl
    and benchmarks/data/*.jsonl.
Prints the time per 1,000 items: first with empty token caches (as in a fresh parser process),
then the best of R runs with warm ones.

``--reference REV`` also loads newsletter/cluster.py as of git revision REV (from a temporary
file, as a module of its own), times it the same way, and checks that both give equal
``Features``, field by field, for every title and text of both corpora in both languages.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import pickle
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter import cluster  # noqa: E402

DEFAULT_PICKLE = Path("/tmp/arts.pkl")
EVAL_FILES = [Path("/work/shared/eval/dev.jsonl"), *sorted((ROOT / "tests/data/tagging").glob("*.jsonl")),
              *sorted((ROOT / "benchmarks/data").glob("*.jsonl"))]
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)

# (title, text, lang, when, topics)
Report = tuple[str, str, str, datetime, tuple[str, ...]]

COMPANIES = ["TikTok", "Meta", "Google", "Amazon", "Apple", "Microsoft", "Clearview AI", "WhatsApp",
             "Telegram", "Uber", "Spotify", "LinkedIn", "Palantir", "OpenAI", "Grindr", "Temu", "iRobot"]
PLACES = [("France", "Frankreich"), ("Italy", "Italien"), ("Ireland", "Irland"), ("Spain", "Spanien"),
          ("Germany", "Deutschland"), ("the U.S.", "den USA"), ("Norway", "Norwegen"),
          ("Austria", "Österreich")]
AMOUNTS_EN = ["{n} million euros", "€{n}m", "$1.{n} billion", "nine million", "{n},000", "£{n}bn",
              "half a million", "{n} per cent"]
AMOUNTS_DE = ["{n} Millionen Euro", "{n} Mio. Euro", "1,{n} Milliarden Dollar", "neun Millionen",
              "{n}.000", "eine halbe Million"]
EN_TITLES = ["{c} fined {a} by {p} data protection authority", "{p} bans {c} on government phones",
             "{c} admits data of {a} customers was stolen", "What the {c} ruling means for you",
             "Court rules {c} tracking unlawful under the GDPR", "{x} {y} says {c} misled regulators"]
DE_TITLES = ["{p_de}: {a} Bußgeld gegen {c}", "{p_de} verbietet {c} auf Diensthandys",
             "Datenleck bei {c}: {a} Kunden betroffen", "Was das Urteil zu {c} bedeutet",
             "Gericht: Tracking durch {c} verstößt gegen die DSGVO", "{x} {y} wirft {c} Täuschung vor"]
EN_SENTENCES = [
    "The data protection authority of {p} fined {c} {a} for processing personal data without consent.",
    "{c} said it would appeal the decision of the regulator.",
    "\"We take privacy seriously,\" a spokesperson for {c} told Reuters on Tuesday.",
    "Hackers stole names, e-mail addresses and phone numbers of {a} users in {p}.",
    "The European Commission opened proceedings under the Digital Services Act in 2024.",
    "According to {x} {y}, the company shared location data with advertisers.",
    "Civil liberties groups such as noyb and EDRi welcomed the ruling.",
    "The breach was reported to the regulator 72 hours after it was discovered.",
    "Facial recognition cameras were used by police in {p} without a legal basis.",
    "Users can opt out of the tracking in the app's settings, version 4.2.1 and later.",
]
DE_SENTENCES = [
    "Die Datenschutzbehörde in {p_de} hat gegen {c} ein Bußgeld von {a} verhängt.",
    "{c} will gegen die Entscheidung vorgehen, sagte ein Sprecher am Dienstag.",
    "„Wir nehmen den Datenschutz ernst“, teilte {c} mit.",
    "Hacker haben Namen und Adressen von {a} Kunden erbeutet.",
    "Die EU-Kommission prüft einen Verstoß gegen die Datenschutz-Grundverordnung.",
    "Laut {x} {y} wurden Standortdaten ohne Einwilligung an Werbepartner weitergegeben.",
    "Bürgerrechtler von netzpolitik.org und dem CCC kritisieren die Überwachung seit Jahren.",
    "Der Vorfall wurde der Behörde erst nach 72 Stunden gemeldet.",
    "Die Polizei in {p_de} setzte Gesichtserkennung ohne Rechtsgrundlage ein.",
    "Nutzerinnen und Nutzer können das Tracking in den Einstellungen abschalten.",
]
FIRST = ["Max", "Anna", "Julia", "Thomas", "Sarah", "Lukas", "Emily", "John", "Marie", "Paul"]
SYLLABLES = ["ber", "ger", "son", "mann", "ley", "ton", "wald", "stein", "ford", "row", "kel", "ner"]


def synthetic(n: int, seed: int = 7) -> list[Report]:
    """``n`` reports, half English, half German, from the templates above: privacy-news
    sentences with companies, places, amounts in both languages' notations and people."""
    rnd = random.Random(seed)
    reports: list[Report] = []
    for i in range(n):
        lang = "en" if i % 2 == 0 else "de"
        p, p_de = rnd.choice(PLACES)
        num = rnd.randint(2, 900)
        fields = {
            "c": rnd.choice(COMPANIES), "p": p, "p_de": p_de, "x": rnd.choice(FIRST),
            "y": "".join(rnd.choice(SYLLABLES) for _ in range(2)).capitalize(),
            "a": rnd.choice(AMOUNTS_EN if lang == "en" else AMOUNTS_DE).format(n=num),
        }
        titles, sentences = (EN_TITLES, EN_SENTENCES) if lang == "en" else (DE_TITLES, DE_SENTENCES)
        title = rnd.choice(titles).format(**fields)
        text = " ".join(s.format(**fields) for s in rnd.sample(sentences, rnd.randint(2, 8)))
        reports.append((title, text, lang, T0 + timedelta(hours=i % 500), ("enforcement",)))
    return reports


def from_articles(path: Path) -> list[Report]:
    with path.open("rb") as fh:
        articles = pickle.load(fh)
    return [(a.title, a.text, (a.language or "en")[:2].lower(), a.published or T0, ("enforcement",))
            for a in articles]


def eval_items() -> list[Report]:
    reports: list[Report] = []
    for path in EVAL_FILES:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                reports.append((d.get("title") or "", d.get("text") or "", d.get("lang") or "en", T0,
                                tuple(d.get("topics") or ())))
    return reports


def reference_module(rev: str) -> ModuleType:
    """newsletter/cluster.py as of ``rev``, loaded from a temporary file as its own module."""
    source = subprocess.run(["git", "show", f"{rev}:newsletter/cluster.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    tmp = Path(tempfile.mkdtemp()) / "cluster_reference.py"
    tmp.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("newsletter._cluster_reference", tmp)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def clear_caches(module: ModuleType) -> None:
    """Forget the tokens seen so far, as a fresh process would (the lexicon stays loaded)."""
    for name in ("_norm_token", "_token_concepts", "_number_word_re"):
        fn = getattr(module, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()
    vocabularies = getattr(module, "_VOCABULARIES", None)
    if vocabularies is not None:
        vocabularies.clear()


def timed(module: ModuleType, reports: Sequence[Report], repeat: int) -> tuple[float, float]:
    """Milliseconds per 1,000 reports: with empty caches, and the best of ``repeat`` warm runs."""
    lex = module.load_lexicon()
    features: Callable[..., Any] = module.features

    def run() -> float:
        t0 = time.perf_counter()
        for title, text, lang, when, topics in reports:
            features(title, text, lang, when, lex, topics)
        return (time.perf_counter() - t0) * 1e6 / max(1, len(reports))

    clear_caches(module)
    cold = run()
    return cold, min(run() for _ in range(repeat))


def check_equal(reference: ModuleType, reports: Sequence[Report]) -> int:
    """Compare every report in both languages; return how many were compared."""
    lex_new, lex_ref = cluster.load_lexicon(), reference.load_lexicon()
    n = 0
    for title, text, _, when, topics in reports:
        for lang in ("en", "de"):
            new = cluster.features(title, text, lang, when, lex_new, topics)
            ref = reference.features(title, text, lang, when, lex_ref, topics)
            for field in dataclasses.fields(new):
                a, b = getattr(new, field.name), getattr(ref, field.name)
                if a != b:
                    raise AssertionError(f"{field.name} differs ({lang}) for {title[:60]!r}: "
                                         f"{a!r} != {b!r}")
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=Path,
                    help="pickled list of Article (default /tmp/arts.pkl if present)")
    ap.add_argument("--synthetic", type=int, metavar="N", help="use N synthetic reports instead")
    ap.add_argument("--reference", metavar="REV", help="git revision to compare with (times and equality)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = args.articles or (DEFAULT_PICKLE if DEFAULT_PICKLE.exists() and not args.synthetic else None)
    feed = from_articles(path) if path else synthetic(args.synthetic or 10_000)
    corpora = {f"feed items ({path or 'synthetic'})": feed, "evaluation texts": eval_items()}
    reference = reference_module(args.reference) if args.reference else None
    for label, reports in corpora.items():
        print(f"{label}: {len(reports)} reports")
        cold, warm = timed(cluster, reports, args.repeat)
        print(f"  this tree: {cold:6.1f} ms per 1,000 from empty caches, {warm:6.1f} warm")
        if reference is not None:
            rcold, rwarm = timed(reference, reports, args.repeat)
            print(f"  {args.reference}: {rcold:6.1f} ms per 1,000 from empty caches, {rwarm:6.1f} warm "
                  f"(x{rcold / cold:.2f}, x{rwarm / warm:.2f})")
            print(f"  equal features for {check_equal(reference, reports)} report-language pairs")


if __name__ == "__main__":
    main()
