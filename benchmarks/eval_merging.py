"""Pairwise precision and recall of story merging on a labelled set (issue 5).

Usage: python benchmarks/eval_merging.py [FILE.jsonl ...] [--verbose]
(default file: ../shared/eval/dev.jsonl next to the repository).

Each line: {"id", "lang", "source", "published", "title", "text", "story"}; lines with the
same non-null ``story`` are one event, null means alone. All rows go through
``merge_stories`` at once: its time window (the product's) keeps items months apart from
merging, as in real use where one digest period is merged. Pairs are counted within one
language and across languages separately.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.cluster import MergeParams, batch_scorer, item_features, load_lexicon, merge_stories  # noqa: E402
from newsletter.types import Article, Item, TaggedItem, TagResult  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def to_item(row: dict) -> TaggedItem:
    published = datetime.fromisoformat(row["published"])
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    article = Article(
        kind=row.get("kind", "feed"), source=row["source"], title=row["title"], text=row["text"],
        url=row.get("url"), published=published, language=row["lang"], guid=row["id"],
    )
    return TaggedItem(item=Item(key=row["id"], article=article, first_seen=published),
                      tags=TagResult(topics=tuple(row.get("topics") or ())))


def evaluate(rows: list[dict], verbose: bool = False) -> dict[str, tuple[int, int, int]]:
    items = [to_item(r) for r in rows]
    stories = merge_stories(items)
    predicted = {}
    for n, story in enumerate(stories):
        for t in (story.lead, *story.also):
            predicted[t.item.key] = n
    by_id = {r["id"]: r for r in rows}
    counts = {"within": [0, 0, 0], "cross": [0, 0, 0]}  # tp, fp, fn
    feat_list = [item_features(t) for t in items]
    scorer = batch_scorer(feat_list, MergeParams(), load_lexicon())
    pos = {r["id"]: n for n, r in enumerate(rows)}
    for a, b in itertools.combinations(rows, 2):
        kind = "within" if a["lang"] == b["lang"] else "cross"
        gold = a["story"] is not None and a["story"] == b["story"]
        pred = predicted[a["id"]] == predicted[b["id"]]
        if gold and pred:
            counts[kind][0] += 1
        elif pred:
            counts[kind][1] += 1
        elif gold:
            counts[kind][2] += 1
        if verbose and gold != pred:
            i, j = pos[a["id"]], pos[b["id"]]
            s, parts = scorer.parts(i, j)
            label = "FALSE MERGE" if pred else "MISSED"
            print(f"{label} {a['id']}/{b['id']} ({a['published']}, {b['published']}) score={s:.2f} "
                  + " ".join(f"{k}={v:.2f}" for k, v in parts.items() if v))
            print(f"    {by_id[a['id']]['title'][:90]}\n    {by_id[b['id']]['title'][:90]}")
    return {k: tuple(v) for k, v in counts.items()}  # type: ignore[misc]


def report(name: str, counts: dict[str, tuple[int, int, int]]) -> None:
    print(name)
    for kind, (tp, fp, fn) in counts.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        print(f"  {kind:6} precision {p:.3f}  recall {r:.3f}  (tp={tp} fp={fp} fn={fn})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--verbose", "-v", action="store_true", help="print wrong pairs with scores")
    args = ap.parse_args()
    for path in args.files or [DEFAULT]:
        report(str(path), evaluate(load(path), args.verbose))


if __name__ == "__main__":
    main()
