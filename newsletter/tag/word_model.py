"""A second opinion for the cues: which words a privacy story of each topic tends to use.

The cues (taxonomy.yaml) decide from phrases in context and say why; they miss stories told
in words no cue anticipated. This model, one logistic regression per built-in topic over
which words an item contains, trained offline on the project's own labelled sets
(``benchmarks/train_word_model.py``; never on the dev set), adds a topic the cues missed
when it is confident. It only adds, never removes; it speaks only on items that matched
some taxonomy term (news with no privacy vocabulary at all stays untagged); its evidence
is the words that weighed most, as the text writes them; a user's ``exclude`` terms
weigh nothing for their topic, as for the cues. Measured on two blind sets nobody tuned on
(fresh3, fresh4): micro F1 +0.03 each, the dev set unchanged.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any, Mapping, Sequence

from .matcher import Scan


class WordModel:
    """Per-topic word weights; ``topics`` adds the confident ones to a tagged item."""

    def __init__(self, topics: Sequence[str], bias: Sequence[float],
                 vectors: Mapping[str, tuple[float, ...]], threshold: float,
                 excluded: Mapping[str, frozenset[int]]) -> None:
        self._topics = tuple(topics)
        self._bias = tuple(bias)
        self._vectors = vectors  # folded word -> its weight for each topic, in ``_topics`` order
        self._vocabulary = frozenset(vectors)
        self._logit = math.log(threshold / (1.0 - threshold))  # no exp per item
        self._excluded = [excluded.get(t, frozenset()) for t in self._topics]

    @classmethod
    def load(cls, topic_ids: Sequence[str], threshold: float,
             excluded: Mapping[str, frozenset[int]]) -> "WordModel":
        raw = _raw()
        wanted = set(topic_ids)
        cols = [k for k, t in enumerate(raw["topics"]) if t in wanted]
        vectors = {w: tuple(float(v[k]) for k in cols) for w, v in raw["words"].items()}
        return cls([raw["topics"][k] for k in cols], [raw["bias"][k] for k in cols], vectors,
                   threshold, excluded)

    def topics(self, scan: Scan, text: str, *, skip: set[str], max_evidence: int
               ) -> dict[str, tuple[str, ...]]:
        """Topic -> evidence words, for the topics not in ``skip`` the model is sure of.

        ``scan`` is the cues' scan of ``text`` (its words and term matches)."""
        words = scan.words
        present = self._vocabulary.intersection(words)
        out: dict[str, tuple[str, ...]] = {}
        if not present:
            return out
        vectors = self._vectors
        # every topic's sum at once, in C: the present words' vectors, transposed and summed
        sums = list(map(sum, zip(*map(vectors.__getitem__, present))))
        for k, topic in enumerate(self._topics):
            if topic in skip:
                continue
            z = self._bias[k] + sums[k]
            mine = present
            if self._excluded[k]:  # a user's exclude terms weigh nothing for their topic
                banned = present.intersection(
                    words[j] for t, a, b in scan.matches if t in self._excluded[k]
                    for j in range(a, b + 1))
                z -= sum(vectors[w][k] for w in banned)
                mine = present - banned
            if z < self._logit:
                continue
            strongest = sorted((w for w in mine if vectors[w][k] > 0),
                               key=lambda w: -vectors[w][k])[:max_evidence]
            out[topic] = tuple(_as_written(w, words, scan, text) for w in strongest)
        return out


def _raw() -> dict[str, Any]:
    """The trained model as ``benchmarks/train_word_model.py`` wrote it."""
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath("word_model.json")
                                      .read_text(encoding="utf-8"))
    return data


def _as_written(word: str, words: list[str], scan: Scan, text: str) -> str:
    """The word as the text first writes it (case and umlauts kept)."""
    j = words.index(word)
    return text[scan.starts[j]: scan.ends[j]]
