"""Tagging speed: items per second on one core (issue 4, item 7).

    python benchmarks/bench_tagging.py [--items 10000] [--seed 1] [--repeat 3]

Builds synthetic English and German items of news length (title plus 5-8 sentences)
from everyday words with privacy phrases mixed in (``--dense``: privacy words only,
the worst case), then times ``Tagger.tag`` over all of them (compilation timed
separately), ``run_tag`` on the same items as JSON Lines, which is what
``newsletter tag`` does, and the command itself as a process (start-up, taxonomy load
and a cold word cache included). Times are CPU time (``time.process_time``, the child's
rusage for the command), so other work on a shared machine does not count against the
tagger; each row is the median of ``--repeat`` runs (this machine's speed drifts by a
fifth from one minute to the next), each run listed.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsletter.tag import Tagger  # noqa: E402
from newsletter.tag.jsonl import run_tag  # noqa: E402
from newsletter.tag.taxonomy import load_builtin  # noqa: E402

EN_FILLER = ("the a of to in and for on with that said it was is by as at from has have "
             "will after year new people week company officials statement report told "
             "according more than two three million last first also but not which their "
             "they would could about over its this been were had into market city team "
             "plans announced Tuesday Monday deal prices workers growth record service").split()
DE_FILLER = ("der die das und in zu den von mit sich des auf für ist im dem nicht ein eine "
             "als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch "
             "wie einem über so zum haben nur oder aber vor zur bis mehr durch man Jahr "
             "Millionen Unternehmen sagte teilte mit Woche Stadt Preise Markt neue erste").split()
EN = ("the government said on Tuesday that the company would store user data on servers in "
      "Europe after regulators fined it for tracking visitors with cookies without consent and "
      "police used facial recognition while hackers leaked customer records and parliament "
      "passed a privacy law to ban the app on official phones children under 13 need parental "
      "consent shares rose as revenue grew and the team won the match in front of fans").split()
DE = ("die Regierung teilte am Dienstag mit dass der Konzern Nutzerdaten in Rechenzentren in "
      "Irland speichern werde nachdem die Datenschutzbehörde ein Bußgeld wegen Tracking ohne "
      "Einwilligung verhängt hatte die Polizei setzt Gesichtserkennung ein Hacker veröffentlichten "
      "Kundendaten der Bundestag beschließt ein Verbot der App auf Diensthandys Kinder unter 16 "
      "brauchen die Zustimmung der Eltern der Umsatz stieg und die Mannschaft gewann das Spiel").split()


def make_items(n: int, seed: int, dense: bool = False) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    items = []
    for i in range(n):
        terms = EN if i % 2 else DE
        filler = EN_FILLER if i % 2 else DE_FILLER

        def words(k: int) -> str:
            if dense:
                return " ".join(rnd.choices(terms, k=k))
            # about one word in five from the privacy vocabulary, in runs like real phrases
            out: list[str] = []
            while len(out) < k:
                if rnd.random() < 0.2:
                    start = rnd.randrange(len(terms) - 3)
                    out.extend(terms[start:start + 3])
                else:
                    out.extend(rnd.choices(filler, k=3))
            return " ".join(out[:k])

        title = words(rnd.randint(6, 12)).capitalize()
        sentences = []
        for _ in range(rnd.randint(5, 8)):
            sentences.append(words(rnd.randint(12, 18)).capitalize() + ".")
        items.append({"id": str(i), "title": title, "text": " ".join(sentences),
                      "lang": "en" if i % 2 else "de"})
    return items


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dense", action="store_true", help="privacy words only (worst case)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each row; the median is shown")
    args = ap.parse_args()
    items = make_items(args.items, args.seed, args.dense)
    chars = sum(len(i["title"]) + len(i["text"]) for i in items)

    lines = "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)
    compile_s: list[float] = []
    tag_runs: list[float] = []
    jsonl_runs: list[float] = []
    cli_runs: list[float] = []
    tagged = 0
    for _ in range(args.repeat):
        # a fresh load and compile and a cold word cache each time, as the command has
        t0 = time.perf_counter()
        tagger = Tagger(load_builtin.__wrapped__())  # not the process's cached taxonomy
        tagger.tag("Datenschutz", "")  # cues, matcher and word model are made on first use
        compile_s.append(time.perf_counter() - t0)
        t0 = time.process_time()
        tagged = sum(1 for it in items if tagger.tag(it["title"], it["text"], it["lang"]).topics)
        tag_runs.append(time.process_time() - t0)
        t0 = time.process_time()
        code = run_tag(io.StringIO(lines), io.StringIO(), io.StringIO(), tagger)
        jsonl_runs.append(time.process_time() - t0)
        assert code == 0
        cli_runs.append(_cli(lines))

    def row(runs: list[float]) -> str:
        each = ", ".join(f"{len(items) / r:,.0f}" for r in runs)
        return f"{len(items) / median(runs):,.0f} items/s CPU (median of {each})"

    print(f"items: {len(items)} ({chars / len(items):.0f} chars each), {tagged} tagged")
    print(f"load and compile the taxonomy and word model: {median(compile_s) * 1000:.0f} ms")
    print(f"Tagger.tag:       {row(tag_runs)}")
    print(f"run_tag (JSONL):  {row(jsonl_runs)}; the same tagger again, its word cache warm")
    print(f"newsletter tag:   {row(cli_runs)}; the command end to end: start-up, compile, "
          f"read, tag, write")
    return 0


def _cli(lines: str) -> float:
    """CPU seconds of ``newsletter tag`` as a process, the built-in taxonomy (run where
    there is no feeds.yaml), the same items on stdin."""
    import resource
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as cwd:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([sys.executable, "-m", "newsletter", "tag"], input=lines, text=True,
                           capture_output=True, cwd=cwd)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 0, r.stderr
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())
