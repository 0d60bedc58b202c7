"""The body of ``newsletter tag``: JSON Lines in, JSON Lines (or explanations) out.

Contract: one ``{"id", "title", "text", "lang"?}`` object a line in, one
``{"id", "topics", "evidence"}`` a line out, same order; exit 2 naming the line
number for a line that is not such an object. The whole input is checked before
anything is written, so a caller never has to undo a half-written output.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from .tagger import Tagger

MAX_REPORTED = 20  # bad lines listed before giving up on listing
# one encoder for all lines: json.dumps with keyword arguments builds a new one per call
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _check(obj: Any) -> str | None:
    """What is wrong with one parsed line, or None."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    if "id" not in obj:
        return "missing 'id'"
    if isinstance(obj["id"], bool) or not isinstance(obj["id"], (str, int)):
        return "'id' must be a string or an integer"
    if "title" not in obj and "text" not in obj:
        return "needs 'title' and 'text'"
    for key in ("title", "text"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], str):
            return f"'{key}' must be a string"
    if obj.get("lang") is not None and not isinstance(obj["lang"], str):
        return "'lang' must be a string"
    return None


def run_tag(stdin: TextIO, stdout: TextIO, stderr: TextIO, tagger: Tagger,
            explain: bool = False) -> int:
    """Tag every line of ``stdin``; return the exit status (0, or 2 for bad input)."""
    items: list[dict[str, Any]] = []
    bad = 0
    for n, line in enumerate(stdin, start=1):
        if not line.strip():
            continue  # blank lines carry no item
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problem: str | None = f"not valid JSON ({e.msg} at column {e.colno})"
        except RecursionError:  # hostile input: arrays nested thousands deep
            problem = "not valid JSON (nested too deeply)"
        else:
            problem = _check(obj)
        if problem:
            bad += 1
            if bad <= MAX_REPORTED:
                print(f"line {n}: {problem}", file=stderr)
            continue
        items.append(obj)
    if bad:
        more = f" ({bad - MAX_REPORTED} more not shown)" if bad > MAX_REPORTED else ""
        print(f"newsletter tag: {bad} bad input line(s){more}; nothing written", file=stderr)
        return 2
    for obj in items:
        res = tagger.tag(obj.get("title") or "", obj.get("text") or "", obj.get("lang"))
        if explain:
            stdout.write(explain_lines(obj["id"], obj.get("title") or "", res.topics,
                                       res.evidence, tagger.labels, res.overruled))
        else:
            out = {"id": obj["id"], "topics": list(res.topics),
                   "evidence": {t: list(res.evidence[t]) for t in res.topics}}
            stdout.write(_ENCODE(out) + "\n")
    return 0


def explain_lines(item_id: Any, title: str, topics: tuple[str, ...],
                  evidence: Any, labels: dict[str, str], overruled: Any = None) -> str:
    """A few lines for a human: the item, then each topic with the phrases behind it, and
    each topic the cues found that the word model overruled."""
    head = f"{item_id}: {title[:80]}" if title else f"{item_id}"
    lines = [head]
    if not topics:
        lines.append("  (no topic: not privacy news)")
    for t in topics:
        lines.append(f"  {t} ({labels.get(t, t)}): {_quoted(evidence.get(t, ()))}")
    for t, phrases in (overruled or {}).items():
        lines.append(f"  not {t}: the cues found {_quoted(phrases)}, but the word model "
                     f"is sure the story is not about {labels.get(t, t).lower()}")
    return "\n".join(lines) + "\n"


def _quoted(phrases: Any) -> str:
    return ", ".join(f"'{p}'" for p in phrases)
