"""Measure the tagger against a labelled JSON Lines set (issue 4, item 1).

    python benchmarks/eval_tagging.py [PATH] [--split all|a|b] [--errors]

PATH defaults to ../shared/eval/dev.jsonl next to the repository. Each line:
{"id", "lang", "title", "text", "topics": [...]}; ``topics: []`` means not privacy news.
``--split a|b`` scores one half of a fixed, id-hashed split (tune on one, report the
other). Prints per-topic precision/recall/F1, micro and macro F1 and relevance.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsletter.tag import Tagger  # noqa: E402

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


@dataclass
class Report:
    topics: Sequence[str]
    tp: dict[str, int] = field(default_factory=dict)
    fp: dict[str, int] = field(default_factory=dict)
    fn: dict[str, int] = field(default_factory=dict)
    rel_tp: int = 0  # privacy item given a topic
    rel_fp: int = 0  # non-privacy item given a topic
    rel_fn: int = 0  # privacy item given none
    rel_tn: int = 0  # non-privacy item given none
    items: int = 0
    errors: list[str] = field(default_factory=list)

    def prf(self, topic: str) -> tuple[float, float, float]:
        return _prf(self.tp.get(topic, 0), self.fp.get(topic, 0), self.fn.get(topic, 0))

    @property
    def micro(self) -> tuple[float, float, float]:
        return _prf(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()))

    @property
    def macro_f1(self) -> float:
        used = [t for t in self.topics if self.tp.get(t, 0) + self.fn.get(t, 0) + self.fp.get(t, 0)]
        return sum(self.prf(t)[2] for t in used) / len(used) if used else 0.0

    @property
    def relevance(self) -> tuple[float, float]:
        """(precision, recall) of 'is privacy news' = 'has at least one topic'."""
        p = self.rel_tp / (self.rel_tp + self.rel_fp) if self.rel_tp + self.rel_fp else 1.0
        r = self.rel_tp / (self.rel_tp + self.rel_fn) if self.rel_tp + self.rel_fn else 1.0
        return p, r


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def split_half(item_id: str) -> str:
    """'a' or 'b', stable across runs and machines."""
    return "ab"[hashlib.sha1(item_id.encode()).digest()[0] % 2]


def evaluate(items: Iterable[dict], tagger: Tagger | None = None) -> Report:
    tagger = tagger or Tagger.load()
    rep = Report(topics=tagger.topic_ids)
    for it in items:
        rep.items += 1
        gold = set(it.get("topics") or ())
        res = tagger.tag(it.get("title", ""), it.get("text", ""), it.get("lang"))
        got = set(res.topics)
        for t in got & gold:
            rep.tp[t] = rep.tp.get(t, 0) + 1
        for t in got - gold:
            rep.fp[t] = rep.fp.get(t, 0) + 1
        for t in gold - got:
            rep.fn[t] = rep.fn.get(t, 0) + 1
        if gold and got:
            rep.rel_tp += 1
        elif got:
            rep.rel_fp += 1
        elif gold:
            rep.rel_fn += 1
        else:
            rep.rel_tn += 1
        if got != gold:
            extra = ", ".join(f"+{t} {list(res.evidence.get(t, ()))}" for t in sorted(got - gold))
            missing = ", ".join(f"-{t}" for t in sorted(gold - got))
            rep.errors.append(f"{it.get('id')}: {missing} {extra} | {it.get('title', '')[:70]}")
    return rep


def format_report(rep: Report, title: str) -> str:
    lines = [f"{title}: {rep.items} items", f"{'topic':<20}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}"]
    for t in rep.topics:
        p, r, f = rep.prf(t)
        lines.append(f"{t:<20}{p:>7.3f}{r:>7.3f}{f:>7.3f}{rep.tp.get(t, 0):>5}"
                     f"{rep.fp.get(t, 0):>5}{rep.fn.get(t, 0):>5}")
    mp, mr, mf = rep.micro
    rp, rr = rep.relevance
    nonpriv = rep.rel_tn + rep.rel_fp
    lines += [
        f"{'micro':<20}{mp:>7.3f}{mr:>7.3f}{mf:>7.3f}",
        f"{'macro F1':<20}{'':>14}{rep.macro_f1:>7.3f}",
        f"relevance precision {rp:.3f}  recall {rr:.3f}  "
        f"(non-privacy items given no topic: {rep.rel_tn}/{nonpriv}; "
        f"privacy items given a topic: {rep.rel_tp}/{rep.rel_tp + rep.rel_fn})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--split", choices=("all", "a", "b", "both"), default="all",
                    help="score one half of a fixed id-hashed split, or 'both' halves separately")
    ap.add_argument("--errors", action="store_true", help="list the items tagged wrongly")
    args = ap.parse_args(argv)
    if not args.path.exists():
        print(f"no such file: {args.path}", file=sys.stderr)
        return 2
    items = load(args.path)
    tagger = Tagger.load()
    halves = {"all": [("all", items)],
              "a": [("half a", [i for i in items if split_half(i["id"]) == "a"])],
              "b": [("half b", [i for i in items if split_half(i["id"]) == "b"])]}
    halves["both"] = halves["a"] + halves["b"]
    for name, subset in halves[args.split]:
        rep = evaluate(subset, tagger)
        print(format_report(rep, f"{args.path.name} ({name})"))
        if args.errors:
            print("\n".join(rep.errors))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
