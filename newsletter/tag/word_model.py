"""A second opinion for the cues: which words a privacy story of each topic tends to use.

The cues (taxonomy.yaml) decide from phrases in context and say why; they miss stories told
in words no cue anticipated. This model, one logistic regression per built-in topic over
which words an item contains, trained offline on the project's own labelled sets
(``benchmarks/train_word_model.py``; never on the dev set), adds a topic the cues missed
when it is confident, and drops a topic the cues found when it is sure the item is not
about it (cue words used in another sense), never one the user's own terms gave. It speaks
only on items that matched some taxonomy term (news with no privacy vocabulary at all stays
untagged); its evidence is the words that weighed most, as the text writes them; a user's
``exclude`` terms weigh nothing for their topic, as for the cues.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any, Mapping, Sequence

from .matcher import Scan


class WordModel:
    """Per-topic word weights; ``judge`` adds the topics it is sure of and drops the ones it
    is sure are wrong."""

    def __init__(self, topics: Sequence[str], bias: Sequence[float],
                 vectors: Mapping[str, tuple[float, ...]], threshold: float, veto: float,
                 veto_words: int, excluded: Mapping[str, frozenset[int]]) -> None:
        self._topics = tuple(topics)
        self._bias = tuple(bias)
        self._vectors = vectors  # folded word -> its weight for each topic, in ``_topics`` order
        self._vocabulary = frozenset(vectors)
        # probabilities as log-odds: no exp per item; a 0 turns that side off
        self._add = _logit(threshold) if threshold else math.inf
        self._veto = _logit(veto) if veto else -math.inf
        self._veto_words = veto_words  # the model's words an item needs for a veto
        self._excluded = [excluded.get(t, frozenset()) for t in self._topics]

    @classmethod
    def load(cls, topic_ids: Sequence[str], threshold: float, veto: float, veto_words: int,
             excluded: Mapping[str, frozenset[int]]) -> "WordModel":
        raw = _raw()
        wanted = set(topic_ids)
        cols = [k for k, t in enumerate(raw["topics"]) if t in wanted]
        if cols == list(range(len(raw["topics"]))):  # all of them (no user topic replaced one)
            vectors = {w: tuple(v) for w, v in raw["words"].items()}
        else:
            vectors = {w: tuple(v[k] for k in cols) for w, v in raw["words"].items()}
        return cls([raw["topics"][k] for k in cols], [raw["bias"][k] for k in cols], vectors,
                   threshold, veto, veto_words, excluded)

    def judge(self, scan: Scan, text: str, *, tagged: set[str], keep: set[str],
              max_evidence: int) -> tuple[dict[str, tuple[str, ...]], list[str]]:
        """(topic -> evidence words, for the untagged topics the model is sure of;
        the tagged topics it is sure are wrong, except those in ``keep``).

        ``scan`` is the cues' scan of ``text`` (its words and term matches)."""
        words = scan.words
        present = self._vocabulary.intersection(words)
        added: dict[str, tuple[str, ...]] = {}
        dropped: list[str] = []
        if not present:  # the prior alone neither adds nor drops
            return added, dropped
        vectors = self._vectors
        # every topic's sum at once, in C: the present words' vectors, transposed and summed
        sums = list(map(sum, zip(*map(vectors.__getitem__, present))))
        for k, topic in enumerate(self._topics):
            z = self._bias[k] + sums[k]
            mine = present
            if self._excluded[k]:  # a user's exclude terms weigh nothing for their topic
                banned = present.intersection(
                    words[j] for t, a, b in scan.matches if t in self._excluded[k]
                    for j in range(a, b + 1))
                z -= sum(vectors[w][k] for w in banned)
                mine = present - banned
            if topic in tagged:
                # sure it is not, because of the words, from enough of them: the prior alone
                # or a few words of a short item are no case against what the cues found
                if z < self._veto and z < self._bias[k] and len(present) >= self._veto_words \
                        and topic not in keep:
                    dropped.append(topic)
                continue
            if z < self._add:
                continue
            strongest = sorted((w for w in mine if vectors[w][k] > 0),
                               key=lambda w: -vectors[w][k])[:max_evidence]
            added[topic] = tuple(_as_written(w, words, scan, text) for w in strongest)
        return added, dropped


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _raw() -> dict[str, Any]:
    """The trained model as ``benchmarks/train_word_model.py`` wrote it."""
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath("word_model.json")
                                      .read_text(encoding="utf-8"))
    return data


def _as_written(word: str, words: list[str], scan: Scan, text: str) -> str:
    """The word as the text first writes it (case and umlauts kept)."""
    j = words.index(word)
    return text[scan.starts[j]: scan.end(j)]
