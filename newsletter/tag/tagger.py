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

import re
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ..types import TagResult
from bisect import bisect_right

from .matcher import Scan, TermMatcher, sentence_starts
from .normalize import normalize_text
from .word_model import WordModel
from .taxonomy import Cue, Taxonomy, load_builtin, merge_user_topics

_Match = tuple[int, int, int]  # term index, first token, last token
_term = itemgetter(0)  # a match's term


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
    near: int  # max words between trigger and its first context list; -1: anywhere
    wide: tuple[frozenset[int], ...]  # context lists the headline or previous sentence may hold
    without_wide: frozenset[int]  # vetoes that count from the headline and previous sentence too
    user: bool  # the user's own terms


class Tagger:
    """Tags a title and text with topic ids; compile once with ``Tagger.load``.

    The cues and the term matcher are compiled on the first ``tag``: a build whose
    items are all in the tag cache needs only the topic ids, labels and weights.
    """

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

    @cached_property
    def _compiled(self) -> tuple[list[_CCue], frozenset[int], TermMatcher, dict[int, list[int]]]:
        """Cues, shadow terms, matcher and trigger index, compiled from the taxonomy."""
        taxonomy = self.taxonomy
        topics = taxonomy.topics
        terms: dict[str, int] = {}

        def ids(patterns: tuple[str, ...]) -> frozenset[int]:
            return frozenset(terms.setdefault(p, len(terms)) for p in patterns)

        cues: list[_CCue] = []
        for ti, topic in enumerate(topics):
            excluded = ids(topic.exclude)
            for cue in topic.cues:
                cues.append(self._compile(cue, ti, ids, excluded))
        shadows = ids(taxonomy.shadows)
        matcher = TermMatcher(list(terms), taxonomy.stoplist)
        # term index -> cues it triggers, so a sentence only evaluates cues it can satisfy
        by_trigger: dict[int, list[int]] = {}
        for ci, cc in enumerate(cues):
            for t in cc.triggers:
                by_trigger.setdefault(t, []).append(ci)
        return cues, shadows, matcher, by_trigger

    # each a plain instance attribute after its first use (cached_property)
    @cached_property
    def _cues(self) -> list[_CCue]:
        return self._compiled[0]

    @cached_property
    def _shadows(self) -> frozenset[int]:
        return self._compiled[1]

    @cached_property
    def _matcher(self) -> TermMatcher:
        return self._compiled[2]

    @cached_property
    def _by_trigger(self) -> dict[int, list[int]]:
        return self._compiled[3]

    @cached_property
    def _user_terms(self) -> frozenset[int]:
        """Trigger terms of the cues a user's ``topics:`` section added."""
        return frozenset(t for c in self._cues if c.user for t in c.triggers)

    @cached_property
    def _triggers(self) -> frozenset[int]:
        """Terms that trigger some cue."""
        return frozenset(self._by_trigger)

    @cached_property
    def _gapped(self) -> frozenset[int]:
        """Terms with a ``~`` gap: German verbs that bracket their object ("legt ~ vor")."""
        return frozenset(i for i, t in enumerate(self._matcher.terms) if "~" in t)

    @staticmethod
    def _compile(cue: Cue, ti: int, ids: Callable[..., Any], excluded: frozenset[int]) -> _CCue:
        return _CCue(ti, cue.weight, ids(cue.terms), tuple(ids(w) for w in cue.with_),
                     ids(cue.without), excluded, cue.name,
                     -1 if cue.near is None else cue.near, tuple(ids(w) for w in cue.wide),
                     ids(cue.without_wide), cue.user)

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
        # per topic: (sort key, evidence thunk) - phrases are cut only for tags that stick
        found: list[list[tuple[tuple[float, int], tuple[_Match, list[_Match]]]]] = [
            [] for _ in range(n_topics)]
        order = 0
        norm, head_end = _join(title, text)
        scan, groups = self._sentences(norm, head_end)
        for is_head, sentence_hits, around, lead in groups:
            factor = st.headline_weight if is_head else 1.0
            for ti, (score, hits) in self._score_sentence(sentence_hits, around, lead).items():
                score *= factor
                total[ti] += score
                if score > best[ti]:
                    best[ti] = score
                rank = (0 if is_head else 1) - score
                for trig, ctx in hits:
                    found[ti].append(((rank, order), (trig, ctx)))
                    order += 1
        topics: list[str] = []
        ev: dict[str, tuple[str, ...]] = {}
        for ti, tid in enumerate(self.topic_ids):
            if best[ti] >= self._thresholds[ti] or total[ti] >= st.document_threshold:
                topics.append(tid)
                seen: dict[str, str] = {}
                for _, (trig, ctx) in sorted(found[ti], key=lambda f: f[0]):
                    ph = self._phrase(trig, ctx, scan, norm)
                    key = ph.lower()
                    if key not in seen and not any(key in k for k in seen):
                        # a wider phrase replaces the ones it contains, in their place
                        inner = [k for k in seen if k in key]
                        if inner:
                            seen = {(key if k == inner[0] else k): (ph if k == inner[0] else v)
                                    for k, v in seen.items() if k == inner[0] or k not in inner}
                        else:
                            seen[key] = ph
                    if len(seen) >= st.max_evidence:
                        break
                ev[tid] = tuple(seen.values())
        model = self._word_model
        overruled: dict[str, tuple[str, ...]] = {}
        if model is not None and scan.matches:
            # a tag a user's own terms gave is theirs: the model never overrules it (a
            # found entry's trigger match starts with its term)
            user = self._user_terms
            mine = {tid for ti, tid in enumerate(self.topic_ids) if tid in ev and user
                    and any(trig[0] in user for _, (trig, _ctx) in found[ti])}
            added, dropped = model.judge(scan, norm, tagged=set(topics), keep=mine,
                                         max_evidence=st.max_evidence)
            if added or dropped:
                overruled = {t: ev.pop(t) for t in dropped}
                ev.update(added)
                topics = [tid for tid in self.topic_ids if tid in ev]
        return TagResult(topics=tuple(topics), evidence=MappingProxyType(ev),
                         overruled=MappingProxyType(overruled))

    def ready(self) -> None:
        """Load now what the first item with a cue would (the word model), for a process
        that has time before its first item (a parser process waiting for the network)."""
        _ = self._word_model

    @cached_property
    def _word_model(self) -> WordModel | None:
        """The statistical second opinion (``word_model``), or None when turned off."""
        st = self.settings
        if not st.word_model_threshold and not st.word_model_veto:
            return None
        # a topic's user exclusions, as its compiled cues carry them
        excluded = {self.topic_ids[c.topic]: c.excluded for c in self._cues if c.excluded}
        return WordModel.load(self.topic_ids, st.word_model_threshold, st.word_model_veto,
                              st.word_model_veto_words, excluded)

    def _sentences(self, norm: str, head_end: int
                   ) -> tuple[Scan, list[tuple[bool, list[_Match], frozenset[int], list[_Match]]]]:
        """One scan of headline and body; matches grouped by sentence, headline first.

        The headline is everything before ``head_end`` and counts as one sentence. Each
        sentence comes with the terms of the headline and of the sentence before it, the
        context that ``wide`` cue lists may use. The headline also comes with the lead
        (first) sentence's matches: a headline is explained by its lead ("X fined" +
        "the data watchdog said"), so its cues may take context and vetoes from there."""
        scan = self._matcher.scan(norm)
        if not scan.matches:
            return scan, []
        body = sentence_starts(norm[head_end:] if head_end else norm)
        bounds = [0, head_end] + [b + head_end for b in body] if head_end else [0] + body
        starts = scan.starts
        groups: dict[int, list[_Match]] = {}
        for m in scan.matches:
            si = bisect_right(bounds, starts[m[1]])
            if m[2] == m[1] or bisect_right(bounds, starts[m[2]]) == si:
                groups.setdefault(si, []).append(m)
        terms = {k: frozenset(map(_term, ms)) for k, ms in groups.items()}
        head = terms.get(1, frozenset()) if head_end else frozenset()
        empty: frozenset[int] = frozenset()
        no_lead: list[_Match] = []
        # a sentence without a trigger scores nothing (it serves only as context, above)
        triggers = self._triggers
        return scan, [(head_end > 0 and k == 1, groups[k], head | terms.get(k - 1, empty),
                       groups.get(2, no_lead) if head_end > 0 and k == 1 else no_lead)
                      for k in sorted(groups) if not triggers.isdisjoint(terms[k])]

    def debug(self, title: str, text: str) -> list[str]:
        """Which cues fired in which sentence: for tuning the data file, not for users."""
        trace = []
        norm, head_end = _join(title, text)
        scan, groups = self._sentences(norm, head_end)
        for is_head, hits, around, lead in groups:
            first = scan.starts[min(m[1] for m in hits)]
            trace.append(("H: " if is_head else "S: ") + norm[first:first + 70])
            for ti, (score, found) in self._score_sentence(hits, around, lead).items():
                for trig, ctx in found:
                    trace.append(f"  {self.topic_ids[ti]} {score:.1f}: "
                                 f"{self._phrase(trig, ctx, scan, norm)}")
        return trace

    def _score_sentence(self, matches: list[_Match], around: frozenset[int] = frozenset(),
                        lead: list[_Match] | None = None
                        ) -> dict[int, tuple[float, list[tuple[_Match, list[_Match]]]]]:
        """Topic index -> (score, [(trigger match, context matches)]) for one sentence;
        ``around``: terms of the headline and the previous sentence (for ``wide`` lists);
        ``lead``: matches that may serve as context and vetoes but never as triggers."""
        matches = self._unshadow(matches)
        by_term: dict[int, list[_Match]] = {}
        for m in matches:
            by_term.setdefault(m[0], []).append(m)
        triggers_here = set(by_term)
        lead_set = frozenset(self._unshadow(lead)) if lead else frozenset()
        for m in lead_set:
            by_term.setdefault(m[0], []).append(m)
        present = set(by_term)
        done: set[int] = set()
        own: dict[int, list[_Match]] | None = None  # the headline's own matches, on demand
        out: dict[int, tuple[float, list[tuple[_Match, list[_Match]]]]] = {}
        for t in triggers_here:
            for ci in self._by_trigger.get(t, ()):
                if ci in done:
                    continue
                done.add(ci)
                cue = self._cues[ci]
                for need in cue.with_:  # most cues fail here: a context list not present
                    if need.isdisjoint(present):
                        break
                else:
                    need = None
                if need is not None:
                    continue
                # a veto only in the lead binds a headline only when it needs the lead's
                # context: "Regulator blocks chatbot app" stands on its own words
                own_only = False
                if cue.without and not cue.without.isdisjoint(present):
                    if not lead_set or not cue.without.isdisjoint(triggers_here):
                        continue
                    own_only = True
                if cue.without_wide and not (cue.without_wide.isdisjoint(present)
                                             and cue.without_wide.isdisjoint(around)):
                    continue
                trig = [m for tt in cue.triggers & triggers_here for m in by_term[tt]
                        if m not in lead_set]
                if cue.excluded and not cue.excluded.isdisjoint(present):
                    ex = [m for tt in cue.excluded & present for m in by_term[tt]]
                    trig = [m for m in trig if not any(_overlap(m, e) for e in ex)]
                # ``wide`` subjects come from this sentence, the headline or the one before,
                # never from the lead: "law passed" + "parents of children" is no child law
                if cue.wide and not all(
                        not w.isdisjoint(triggers_here) or not w.isdisjoint(around)
                        for w in cue.wide):
                    continue
                if own_only:
                    if own is None:
                        own = {k: [m for m in v if m not in lead_set] for k, v in by_term.items()
                               if k in triggers_here}
                    hit = self._satisfied(cue, trig, own, triggers_here, lead_set, self._gapped)
                else:
                    hit = self._satisfied(cue, trig, by_term, present, lead_set, self._gapped)
                if hit is None:
                    continue
                score, hits = out.get(cue.topic, (0.0, []))
                hits.append(hit)
                out[cue.topic] = (score + cue.weight, hits)
        return out

    def _unshadow(self, matches: list[_Match]) -> list[_Match]:
        """A single word inside "data protection authority" is not "data"."""
        shadow = [m for m in matches if m[2] > m[1] and m[0] in self._shadows]
        if not shadow:
            return matches
        return [m for m in matches if m[1] != m[2] or m[0] in self._shadows
                or not any(s[1] <= m[1] <= s[2] for s in shadow)]

    @staticmethod
    def _satisfied(cue: _CCue, trig: list[_Match], by_term: Mapping[int, list[_Match]],
                   present: set[int], lead: frozenset[_Match] = frozenset(),
                   gapped: frozenset[int] = frozenset()
                   ) -> tuple[_Match, list[_Match]] | None:
        """(trigger, context matches) if some trigger match has all its context, else None.

        Context may not overlap its trigger, except that one inside the other's gap is
        separate: "legt einen Entwurf vor" is a draft presented, "shares location data
        with" is data shared.

        The lead's mention of a trigger word is no context for it: "cookies" in the
        headline and "cookie" in the lead are still only about cookies."""
        needs = [present & need for need in cue.with_]
        if not all(needs):
            return None
        near = cue.near
        for m in trig:
            ctx: list[_Match] = []
            for i, terms in enumerate(needs):  # ``near`` bounds the first context list
                cands = [c for tt in terms for c in by_term[tt] if not _clash(c, m, gapped)
                         and (near < 0 or i or _distance(c, m) <= near)
                         and not (c in lead and (c[0] in cue.triggers or near >= 0 and not i))]
                if not cands:
                    break
                ctx.extend(cands)
            else:
                return m, ctx
        return None

    def _phrase(self, m: _Match, ctx: list[_Match], scan: Scan, orig: str) -> str:
        """The trigger as found, widened to the context words close by: "Verbot auf Diensthandys"."""
        st = self.settings
        lo, hi = m[1], m[2]
        for c in ctx:
            if _distance(c, m) <= st.evidence_window:
                lo, hi = min(lo, c[1]), max(hi, c[2])
        phrase = orig[scan.starts[lo]:scan.end(hi)]
        if len(phrase) > st.max_phrase_chars:
            phrase = orig[scan.starts[m[1]]:scan.end(m[2])]
        return _clean_phrase(phrase)


def _join(title: str, text: str) -> tuple[str, int]:
    """Headline and body as one normalised string (one scan), and where the body starts.

    A line break separates them, so no sentence or multi-word match spans both."""
    head = normalize_text(title).replace("\n", " ").strip() if title else ""
    body = normalize_text(text) if text else ""
    if not head:
        return body, 0
    return head + "\n" + body, len(head) + 1


_QUOTE_PAIRS = (('"', '"'), ("(", ")"), ("[", "]"))
_LONE_APOSTROPHE = re.compile(r"(?<![^\W_])'|'(?![^\W_])")  # a quote mark, not "it's"


def _clean_phrase(phrase: str) -> str:
    """One line, no dangling quote marks or brackets: the reader sees a clean snippet.

    Phrases start and end on word boundaries (token offsets), but a cut through a
    quotation leaves half of it: 'Project Clover" Daten' reads as broken."""
    phrase = " ".join(phrase.split())
    if phrase[:1] in "\"'" and phrase[-1:] == phrase[:1] and len(phrase) > 1:
        phrase = phrase[1:-1]  # a whole quotation: drop its marks
    for op, cl in _QUOTE_PAIRS:
        if op == cl:
            if phrase.count(op) % 2:
                phrase = phrase.replace(op, "")
        elif phrase.count(op) != phrase.count(cl):
            phrase = phrase.replace(op, "").replace(cl, "")
    if "'" in phrase and len(_LONE_APOSTROPHE.findall(phrase)) % 2:
        phrase = _LONE_APOSTROPHE.sub("", phrase)
    return phrase.strip(" -,;:").strip()


def _clash(c: _Match, m: _Match, gapped: frozenset[int]) -> bool:
    """Context ``c`` and trigger ``m`` share words, and neither lies inside the other's gap."""
    if c[2] < m[1] or m[2] < c[1]:
        return False
    if c[0] in gapped and c[1] < m[1] and m[2] < c[2]:
        return False
    return not (m[0] in gapped and m[1] < c[1] and c[2] < m[2])


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
