"""Sentence-level topic scoring with evidence.

The contract says a topic applies when the headline or a whole sentence is
substantially about it, not on a passing mention. So cues are scored per sentence:
a cue (trigger term plus required context in the same sentence, minus vetoes) adds
its weight to its topic's sentence score. A topic is tagged when one sentence
reaches ``sentence_threshold`` (headline scores are multiplied by
``headline_weight``), or when the sentences together reach ``document_threshold``.
Every number comes from the taxonomy data file.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ..types import TagResult
from .matcher import TermMatcher, Token, split_sentences, tokenize
from .normalize import normalize_text
from .taxonomy import Cue, Taxonomy, load_builtin, merge_user_topics

_Match = tuple[int, int, int]  # term index, first token, last token


@dataclass(frozen=True, slots=True)
class _CCue:
    """A cue compiled to term-index sets."""

    topic: int  # index into the taxonomy's topics
    weight: float
    triggers: frozenset[int]
    with_: tuple[frozenset[int], ...]
    without: frozenset[int]
    excluded: frozenset[int]  # the topic's user exclusions
    name: str  # "<topic>#<n>", for ``debug``


class Tagger:
    """Tags a title and text with topic ids; compile once with ``Tagger.load``."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.settings = taxonomy.settings
        topics = taxonomy.topics
        self.topic_ids: tuple[str, ...] = tuple(t.id for t in topics)
        self.labels: dict[str, str] = {t.id: t.label for t in topics}
        self.weights: dict[str, float] = {t.id: t.weight for t in topics}
        self._thresholds = tuple(
            t.threshold if t.threshold is not None else self.settings.sentence_threshold
            for t in topics)
        terms: dict[str, int] = {}

        def ids(patterns: tuple[str, ...]) -> frozenset[int]:
            return frozenset(terms.setdefault(p, len(terms)) for p in patterns)

        self._cues: list[_CCue] = []
        for ti, topic in enumerate(topics):
            excluded = ids(topic.exclude)
            for cue in topic.cues:
                self._cues.append(self._compile(cue, ti, ids, excluded))
        self._shadows = ids(taxonomy.shadows)
        self._trace: list[str] | None = None
        self._matcher = TermMatcher(list(terms), taxonomy.stoplist)
        # term index -> cues it triggers, so a sentence only evaluates cues it can satisfy
        self._by_trigger: dict[int, list[int]] = {}
        for ci, cc in enumerate(self._cues):
            for t in cc.triggers:
                self._by_trigger.setdefault(t, []).append(ci)

    @staticmethod
    def _compile(cue: Cue, ti: int, ids, excluded: frozenset[int]) -> _CCue:  # type: ignore[no-untyped-def]
        return _CCue(ti, cue.weight, ids(cue.terms), tuple(ids(w) for w in cue.with_),
                     ids(cue.without), excluded, cue.name)

    @classmethod
    def load(cls, user_topics: object = None) -> "Tagger":
        """The built-in taxonomy plus the user's ``topics:`` section (raw parsed YAML)."""
        if not user_topics:
            return _default_tagger()
        return cls(merge_user_topics(load_builtin(), user_topics))

    def tag(self, title: str, text: str, lang: str | None = None) -> TagResult:
        """Topics (taxonomy order) and the phrases that triggered each.

        ``lang`` is accepted for the contract but both vocabularies always apply:
        language hints are often wrong and items quote the other language.
        """
        st = self.settings
        n_topics = len(self.topic_ids)
        best = [0.0] * n_topics
        total = [0.0] * n_topics
        evidence: list[list[tuple[float, int, str]]] = [[] for _ in range(n_topics)]
        order = 0
        for part, is_head in ((title, True), (text, False)):
            if not part:
                continue
            norm = normalize_text(part)
            low = norm.lower()
            spans = [(0, len(norm))] if is_head else split_sentences(norm)
            for s0, s1 in spans:
                toks = tokenize(norm[s0:s1])
                if not toks:
                    continue
                scores = self._score_sentence(toks, low[s0:s1], norm[s0:s1])
                factor = st.headline_weight if is_head else 1.0
                for ti, (score, phrases) in scores.items():
                    score *= factor
                    total[ti] += score
                    if score > best[ti]:
                        best[ti] = score
                    rank = 0 if is_head else 1
                    for ph in phrases:
                        evidence[ti].append((rank - score, order, ph))
                        order += 1
        topics: list[str] = []
        ev: dict[str, tuple[str, ...]] = {}
        for ti, tid in enumerate(self.topic_ids):
            if best[ti] >= self._thresholds[ti] or total[ti] >= st.document_threshold:
                topics.append(tid)
                seen: dict[str, str] = {}
                for _, _, ph in sorted(evidence[ti]):
                    key = ph.lower()
                    if key not in seen and not any(key in k for k in seen):
                        seen[key] = ph
                    if len(seen) >= st.max_evidence:
                        break
                ev[tid] = tuple(seen.values())
        return TagResult(topics=tuple(topics), evidence=MappingProxyType(ev))

    def debug(self, title: str, text: str) -> list[str]:
        """Which cues fired in which sentence: for tuning the data file, not for users."""
        self._trace = []
        try:
            for part, is_head in ((title, True), (text, False)):
                norm = normalize_text(part or "")
                spans = [(0, len(norm))] if is_head else split_sentences(norm)
                for s0, s1 in spans:
                    self._trace.append(("H: " if is_head else "S: ") + norm[s0:s1])
                    toks = tokenize(norm[s0:s1])
                    self._score_sentence(toks, norm[s0:s1].lower(), norm[s0:s1])
            return self._trace
        finally:
            self._trace = None

    def _score_sentence(self, toks: list[Token], low: str,
                        orig: str) -> dict[int, tuple[float, list[str]]]:
        """Topic index -> (score, evidence phrases) for one sentence."""
        matches = self._matcher.find(toks, low)
        if not matches:
            return {}
        shadow = [m for m in matches if m[0] in self._shadows and m[2] > m[1]]
        if shadow:  # a single word inside "data protection authority" is not "data"
            matches = [m for m in matches if m[1] != m[2] or m[0] in self._shadows
                       or not any(s[1] <= m[1] <= s[2] for s in shadow)]
        by_term: dict[int, list[_Match]] = {}
        for m in matches:
            by_term.setdefault(m[0], []).append(m)
        present = by_term.keys()
        done: set[int] = set()
        out: dict[int, tuple[float, list[str]]] = {}
        for t in list(present):
            for ci in self._by_trigger.get(t, ()):
                if ci in done:
                    continue
                done.add(ci)
                cue = self._cues[ci]
                if cue.without and not cue.without.isdisjoint(present):
                    continue
                trig = [m for tt in cue.triggers & present for m in by_term[tt]]
                if cue.excluded and not cue.excluded.isdisjoint(present):
                    ex = [m for tt in cue.excluded & present for m in by_term[tt]]
                    trig = [m for m in trig if not any(_overlap(m, e) for e in ex)]
                phrase = self._satisfied(cue, trig, by_term, toks, orig)
                if phrase is None:
                    continue
                if self._trace is not None:
                    self._trace.append(f"  {cue.name} +{cue.weight}: {phrase}")
                score, phrases = out.get(cue.topic, (0.0, []))
                phrases.append(phrase)
                out[cue.topic] = (score + cue.weight, phrases)
        return out

    def _satisfied(self, cue: _CCue, trig: list[_Match], by_term: Mapping[int, list[_Match]],
                   toks: list[Token], orig: str) -> str | None:
        """Evidence phrase if some trigger match has all its context, else None."""
        for m in trig:
            ctx: list[_Match] = []
            for need in cue.with_:
                cands = [c for tt in need if tt in by_term for c in by_term[tt]
                         if not _overlap(c, m)]
                if not cands:
                    break
                ctx.extend(cands)
            else:
                return self._phrase(m, ctx, toks, orig)
        return None

    def _phrase(self, m: _Match, ctx: list[_Match], toks: list[Token], orig: str) -> str:
        """The trigger as found, widened to the nearest context when that is close by."""
        st = self.settings
        lo, hi = m[1], m[2]
        for c in ctx:  # widen to every context word close by: "Verbot auf Diensthandys"
            if _distance(c, m) <= st.evidence_window:
                lo, hi = min(lo, c[1]), max(hi, c[2])
        start = toks[lo].start
        end = max(toks[hi].end, toks[lo].joined_end if lo == hi else 0)
        phrase = orig[start:end].strip(" -'\"")
        if len(phrase) > st.max_phrase_chars:
            phrase = orig[toks[m[1]].start:toks[m[2]].end]
        return " ".join(phrase.split())


def _overlap(a: _Match, b: _Match) -> bool:
    return a[1] <= b[2] and b[1] <= a[2]


def _distance(a: _Match, b: _Match) -> int:
    """Words between two matches (0 when adjacent or overlapping)."""
    if a[2] < b[1]:
        return b[1] - a[2] - 1
    if b[2] < a[1]:
        return a[1] - b[2] - 1
    return 0


_DEFAULT: list[Tagger] = []


def _default_tagger() -> Tagger:
    """The built-in tagger, compiled once per process."""
    if not _DEFAULT:
        _DEFAULT.append(Tagger(load_builtin()))
    return _DEFAULT[0]
