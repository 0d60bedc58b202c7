"""The taxonomy as data: built-in ``taxonomy.yaml`` plus the user's ``topics:`` section.

All tunable numbers (weights, thresholds) and every term live in the data file, so
tuning never touches code (issue 4, item 3). This module only reads, checks and
merges; ``tagger.py`` compiles and scores.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..exceptions import ConfigError
from .matcher import parse_term

DATA_FILE = Path(__file__).with_name("taxonomy.yaml")
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_USER_TERM_PIECE = re.compile(r"^\*?[^\W_]+(?:'[^\W_]+)*\*?$")
_BUILTIN_KEYS = ("add", "exclude", "label", "weight")
_NEW_KEYS = ("label", "terms", "exclude", "weight")


@dataclass(frozen=True)
class Settings:
    """Scoring knobs; values come from the data file's ``settings:``."""

    headline_weight: float = 1.5  # a headline cue counts this many times
    sentence_threshold: float = 1.0  # a sentence (or headline) this strong makes the tag
    document_threshold: float = 2.0  # ... or several weaker sentences adding up to this
    user_term_weight: float = 1.0  # weight of a user's added term
    max_evidence: int = 3  # phrases kept per topic
    evidence_window: int = 6  # words between trigger and context still shown as one phrase
    max_phrase_chars: int = 60
    # the word model (word_model.json) adds a topic the cues missed at this probability
    # and drops one they found below the veto, when the item has this many of its words
    # and they speak against the topic; 0 turns adding or the veto off
    word_model_threshold: float = 0.9
    word_model_veto: float = 0.03
    word_model_veto_words: int = 15


@dataclass(frozen=True)
class Cue:
    """A trigger term list that counts for a topic when its context is in the same sentence."""

    terms: tuple[str, ...]  # trigger patterns
    weight: float
    with_: tuple[tuple[str, ...], ...] = ()  # each list must have a match in the sentence
    without: tuple[str, ...] = ()  # none of these may occur in the sentence
    name: str = ""  # for debugging: "<topic>#<n>"
    near: int | None = None  # the first ``with`` list must match within this many words
    # each list must match in the sentence, the headline or the sentence before: context a
    # headline or a lead sentence has already set ("The bill ... It was passed on Tuesday.")
    wide: tuple[tuple[str, ...], ...] = ()
    # none of these may occur in the headline or the sentence before either: a story the
    # headline has made about a hack is not data access by its subject
    without_wide: tuple[str, ...] = ()
    user: bool = False  # from the user's ``topics:`` section: the word model never overrules it


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    weight: float  # ranking weight for the digest
    cues: tuple[Cue, ...]
    exclude: tuple[str, ...] = ()  # user exclusions: trigger matches overlapping these are ignored
    threshold: float | None = None  # per-topic override of the sentence threshold


@dataclass(frozen=True)
class Taxonomy:
    settings: Settings
    topics: tuple[Topic, ...]
    stoplist: tuple[str, ...] = ()  # words never matched by wildcard terms ("Kandidaten")
    shadows: tuple[str, ...] = ()  # phrases whose single words never count alone ("data protection")
    builtin_ids: tuple[str, ...] = field(default=())


def _flatten(items: Any, sets: Mapping[str, Any], where: str, depth: int = 0) -> tuple[str, ...]:
    """Term list with ``@set`` references resolved."""
    if isinstance(items, str):
        items = [items]
    out: list[str] = []
    for it in items:
        if not isinstance(it, str):
            raise ValueError(f"{where}: term {it!r} is not a string")
        if it.startswith("@"):
            name = it[1:]
            if name not in sets or depth > 8:
                raise ValueError(f"{where}: unknown set {it!r}")
            out.extend(_flatten(sets[name], sets, f"sets.{name}", depth + 1))
        else:
            out.append(it)
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=4)
def load_builtin(path: Path = DATA_FILE) -> Taxonomy:
    """Parse and check the built-in data file (a broken file is a bug: ValueError)."""
    # libyaml's safe loader when built in: same data, ten times faster (build start-up)
    raw = yaml.load(path.read_text(encoding="utf-8"),
                    Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    settings = Settings(**raw.get("settings", {}))
    sets = raw.get("sets", {})
    topics = []
    # a set's terms recur in many cues: each distinct term is checked once (same errors,
    # in the same order; a fifth of a build's start-up before)
    checked: set[str] = set()
    for t in raw["topics"]:
        cues = []
        for n, c in enumerate(t["cues"]):
            where = f"topics.{t['id']}.cues[{n}]"
            cue = Cue(
                terms=_flatten(c["terms"], sets, where),
                weight=float(c.get("weight", 1.0)),
                with_=tuple(_flatten(w, sets, where) for w in c.get("with", [])),
                without=_flatten(c.get("without", []), sets, where),
                name=f"{t['id']}#{n}",
                near=c.get("near"),
                wide=tuple(_flatten(w, sets, where) for w in c.get("wide", [])),
                without_wide=_flatten(c.get("without_wide", []), sets, where),
            )
            for term in (cue.terms + cue.without + cue.without_wide
                         + tuple(x for w in cue.with_ for x in w)
                         + tuple(x for w in cue.wide for x in w)):
                if term not in checked:
                    parse_term(term)  # fail early on a typo in the data file
                    checked.add(term)
            cues.append(cue)
        topics.append(Topic(id=t["id"], label=t["label"], weight=float(t.get("weight", 1.0)),
                            cues=tuple(cues), threshold=t.get("threshold")))
    ids = tuple(t.id for t in topics)
    shadows = _flatten(raw.get("shadows", []), sets, "shadows")
    for term in shadows:
        if term not in checked:
            parse_term(term)
    return Taxonomy(settings, tuple(topics), tuple(raw.get("wildcard_stoplist", [])),
                    shadows, ids)


def user_term(term: str) -> str:
    """A user's plain term in matcher syntax: words and ``*`` at word ends, nothing else."""
    from .normalize import normalize_text

    pieces = [p for p in re.split(r"[\s\-/]+", normalize_text(term).lower()) if p]
    cleaned = []
    for p in pieces:
        p = p.strip(".,;:!?\"()[]")
        if p.endswith("'s"):
            p = p[:-2]
        if p:
            cleaned.append(p)
    return " ".join(cleaned)


def _check_terms(value: object, field_name: str) -> None:
    if not isinstance(value, list) or not value:
        raise ConfigError("must be a non-empty list of terms (strings)", field=field_name)
    for i, term in enumerate(value):
        where = f"{field_name}[{i}]"
        if not isinstance(term, str) or not term.strip():
            raise ConfigError(f"must be a non-empty string, got {term!r}", field=where)
        norm = user_term(term)
        if not norm:
            raise ConfigError(f"term {term!r} has no letters or digits", field=where)
        for piece in norm.split():
            if not _USER_TERM_PIECE.match(piece):
                raise ConfigError(
                    f"term {term!r}: use letters, digits, spaces and hyphens; '*' only at the "
                    "start or end of a word", field=where)


def _check_keys(spec: Mapping[Any, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in spec:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}",
                              field=f"{where}.{key}")


def validate_user_topics(raw: object) -> None:
    """Check a ``topics:`` section; raise ConfigError naming the field (``topics.<id>.<key>``)."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a mapping of topic id to settings, e.g. "
                          "{tracking: {add: [Fingerprinting]}}", field="topics")
    builtin = load_builtin()
    for tid, spec in raw.items():
        where = f"topics.{tid}"
        if not isinstance(tid, str) or not _TOPIC_ID.match(tid):
            raise ConfigError("topic id must be lower-case letters, digits and hyphens, "
                              "e.g. 'biometrics'", field=where)
        if not isinstance(spec, Mapping) or not spec:
            raise ConfigError("must be a mapping with add/exclude (built-in topic) or "
                              "label/terms (new topic)", field=where)
        is_builtin = tid in builtin.builtin_ids
        _check_keys(spec, _BUILTIN_KEYS if is_builtin else _NEW_KEYS, where)
        if is_builtin:
            for key in ("add", "exclude"):
                if key in spec:
                    _check_terms(spec[key], f"{where}.{key}")
        else:
            if "terms" not in spec:
                close = difflib.get_close_matches(tid, builtin.builtin_ids, n=1)
                hint = (f"; or did you mean the built-in topic {close[0]!r}?" if close else "")
                raise ConfigError(f"a new topic needs 'terms' (and 'label'){hint}",
                                  field=f"{where}.terms")
            _check_terms(spec["terms"], f"{where}.terms")
            if "exclude" in spec:
                _check_terms(spec["exclude"], f"{where}.exclude")
        if "label" in spec and (not isinstance(spec["label"], str) or not spec["label"].strip()):
            raise ConfigError("must be a non-empty string", field=f"{where}.label")
        if "weight" in spec:
            w = spec["weight"]
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise ConfigError(f"must be a number >= 0, got {w!r}", field=f"{where}.weight")


def merge_user_topics(base: Taxonomy, raw: object) -> Taxonomy:
    """The built-in taxonomy with the user's additions, exclusions and new topics."""
    validate_user_topics(raw)
    if not raw:
        return base
    assert isinstance(raw, Mapping)
    uw = base.settings.user_term_weight
    topics = []
    for topic in base.topics:
        spec = raw.get(topic.id)
        if spec:
            cues = topic.cues
            if "add" in spec:
                cues += (Cue(tuple(user_term(t) for t in spec["add"]), uw, name=f"{topic.id}#user",
                              user=True),)
            topic = replace(
                topic, cues=cues,
                label=spec.get("label", topic.label),
                weight=float(spec.get("weight", topic.weight)),
                exclude=tuple(user_term(t) for t in spec.get("exclude", ())),
            )
        topics.append(topic)
    for tid, spec in raw.items():
        if tid in base.builtin_ids:
            continue
        topics.append(Topic(
            id=tid, label=spec.get("label", tid.replace("-", " ").capitalize()),
            weight=float(spec.get("weight", 1.0)),
            cues=(Cue(tuple(user_term(t) for t in spec["terms"]), uw, name=f"{tid}#user",
                      user=True),),
            exclude=tuple(user_term(t) for t in spec.get("exclude", ())),
        ))
    return replace(base, topics=tuple(topics))
