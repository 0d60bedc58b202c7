"""Merging reports of one event into stories (issue 5).

The same event reaches the reader from several outlets and in two languages; the digest
shows it once. The approach follows lemon24/reader's ``entry_dedupe`` plugin: find
candidates cheaply, then compare them with length-aware similarity. Unlike that plugin we
compare across feeds and languages, so besides word n-grams we use signals that survive
translation: named entities, amounts ("EUR 345m" == "345 Millionen Euro"), and a small
bilingual lexicon (``cluster_lexicon.yaml``) that maps "Datenschutzbehörde" and
"data protection authority" to one concept.

Steps:
1. ``_features``: per item, the concepts, names, numbers and word stems (pure, cached).
2. Blocking: an inverted index over rare keys (names, numbers, entities, title stems) and a
   time window, so only items that share something and are close in time are compared;
   no all-pairs comparison of full texts (2,000 items must merge in under 2 s).
3. ``_Scorer``: evidence from shared keys, weighted down when a key is common in the
   batch, plus word-stem similarity for reports in one language. Topic overlap alone (the
   lexicon's ``common_names`` such as TikTok, the EU, the US, plus privacy vocabulary) is
   capped below every threshold: a merge needs something specific to one event (an amount,
   a named law or authority, another name or place, much shared wording). An explainer
   headline ("what it means") lowers the evidence needed, never below that rule.
4. Grouping: union-find over the accepted pairs, strongest first, with an average-link
   check so a chain of weak links cannot glue two events together.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
import weakref
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Protocol, Sequence

import yaml

from .types import Story, TaggedItem

__all__ = ["merge_stories", "MergeParams", "pair_score"]

LEXICON_FILE = "cluster_lexicon.yaml"


@dataclass(frozen=True)
class MergeParams:
    """Thresholds of the merge decision; defaults tuned on the dev set, checked on held-out data."""

    window: timedelta = timedelta(days=7)  # reports further apart in time are never one event
    same_language: float = 4.5  # evidence needed to merge two reports in one language
    cross_language: float = 4.0  # evidence needed to merge an English and a German report
    days_penalty: float = 0.2  # extra evidence needed per day between the reports
    link_ratio: float = 0.75  # share of cross pairs that must be linked when joining two groups
    group_floor: float = 0.6  # a cross pair counts as linked at this fraction of its threshold
    max_block: int = 60  # a blocking key shared by more items than this is too common to block on
    topic_cap: float = 3.0  # most evidence from topic overlap alone (places, common names, terms)
    specific_similarity: float = 0.3  # text similarity that is itself specific to one event
    explainer_discount: float = 1.5  # less evidence needed when one headline is an explainer
    headline_word: float = 1.5  # evidence per headline word an explainer shares with a report...
    rare_headline_df: int = 4  # ...if at most this many reports of those days use it


# ---------------------------------------------------------------------------
# Lexicon


_ASCII = bytes(range(128))


def _fold(text: str) -> str:
    """Case-fold and strip accents, so "Bußgeld", "Bussgeld" and "BUSSGELD" compare equal.

    (Fast paths, same result as NFKD of the case-folded text less its combining marks:
    ASCII text only needs lowering; otherwise the few distinct non-ASCII characters are
    found in C, through the UTF-8 bytes less the ASCII ones, and the marks among them
    deleted, instead of testing every character in Python.)
    """
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKD", text.casefold())
    if folded.isascii():
        return folded
    utf8 = folded.encode("utf-8", "surrogatepass")
    for c in set(utf8.translate(None, _ASCII).decode("utf-8", "surrogatepass")):
        if unicodedata.combining(c):
            folded = folded.replace(c, "")
    return folded


_TOKEN_RE = re.compile(r"[^\W_]+")
_ABBREV_RE = re.compile(r"\b([A-Z])\.([A-Z])\.(?:([A-Z])\.)?")  # U.S., U.K., U.S.A.
_ABBREV_HINT_RE = re.compile(r"[A-Z]\.[A-Z]\.")  # in every abbreviation, and found 3x faster


def _unabbreviate(text: str) -> str:
    """"U.S." -> "US", so the country is one token like in "US-Kongress"."""
    if not _ABBREV_HINT_RE.search(text):
        return text
    return _ABBREV_RE.sub(lambda m: "".join(g for g in m.groups() if g), text)


def _split(text: str) -> list[str]:
    """Tokens of ``text``, case kept; hyphens and apostrophes split."""
    return _TOKEN_RE.findall(_unabbreviate(text))


def _norm_token(tok: str) -> str:
    return _fold(tok).replace(".", "")


@dataclass(frozen=True, eq=False)  # hashed by identity: it keys the caches of its derived tables
class Lexicon:
    """The bilingual lexicon, compiled for matching normalised tokens."""

    stopwords: frozenset[str]
    exact: Mapping[str, tuple[str, ...]]  # token -> concept ids
    prefixes: tuple[tuple[str, str], ...]  # (prefix, concept id)
    suffixes: tuple[tuple[str, str], ...]  # (suffix, concept id)
    phrases: Mapping[tuple[str, ...], tuple[str, ...]]  # token sequence -> concept ids
    entities: frozenset[str]  # concept ids of places ("p:") and entities ("e:"): strong evidence
    number_words: Mapping[str, float]
    magnitudes: Mapping[str, float]
    # names (normalised tokens) and entity ids that are the subject of many reports in any
    # week (TikTok, Meta, Google): sharing one is topic overlap, not a sign of one event
    common: frozenset[str] = frozenset()
    explainers: tuple[str, ...] = ()  # headline phrases of follow-up explainers, " what it means "
    # term ids that say who or what a story is about (politicians, patients), not privacy
    # vocabulary: in two headlines, one counts as a shared headline word
    subjects: frozenset[str] = frozenset()
    explainer_stems: frozenset[str] = frozenset()  # word stems of the explainer phrases

    def is_common(self, name: str) -> bool:
        """A much-reported name or entity ("tiktoks" too): topic, not event evidence."""
        return name in self.common or (len(name) > 4 and name.endswith("s") and name[:-1] in self.common)


def _token_concepts(lex: Lexicon, tok: str) -> tuple[str, ...]:
    exact = lex.exact.get(tok, ())  # (without duplicates)
    if len(tok) <= 3:
        return exact
    by_first, suffixes = _affixes(lex)
    # quick tests in C first: most words have no prefix or suffix of the lexicon
    found: list[str] = []
    if tok.startswith(by_first.get(tok[0], ())) or "" in by_first:
        found += [cid for p, cid in lex.prefixes if tok.startswith(p)]
    if tok.endswith(suffixes):
        found += [cid for s, cid in lex.suffixes if tok.endswith(s) and tok != s]
    return tuple(dict.fromkeys([*exact, *found])) if found else exact


@lru_cache(maxsize=8)
def _affixes(lex: Lexicon) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The lexicon's prefixes by their first letter, and its suffixes."""
    by_first: dict[str, tuple[str, ...]] = defaultdict(tuple)
    for p, _ in lex.prefixes:
        by_first[p[:1]] += (p,)
    return dict(by_first), tuple(s for s, _ in lex.suffixes)


def _lexicon_from_mapping(data: Mapping[str, Any]) -> Lexicon:
    exact: dict[str, list[str]] = defaultdict(list)
    phrases: dict[tuple[str, ...], list[str]] = defaultdict(list)
    prefixes: list[tuple[str, str]] = []
    suffixes: list[tuple[str, str]] = []
    entities: set[str] = set()
    for section in ("places", "entities", "terms"):
        for cid, forms in (data.get(section) or {}).items():
            cid = f"{section[0]}:{cid}"
            if section != "terms":
                entities.add(cid)
            for form in forms:
                form = str(form)
                if form.endswith("*") and " " not in form:
                    prefixes.append((_norm_token(form[:-1]), cid))
                    continue
                if form.startswith("*") and " " not in form:
                    suffixes.append((_norm_token(form[1:]), cid))
                    continue
                toks = tuple(_norm_token(t) for t in _split(form))
                if len(toks) == 1:
                    exact[toks[0]].append(cid)
                elif toks:
                    phrases[toks].append(cid)
    numbers = data.get("numbers") or {}
    words = {_fold(str(k)): float(v) for k, v in (numbers.get("words") or {}).items()}
    mags = {_fold(str(k)): float(v) for k, v in (numbers.get("magnitudes") or {}).items()}
    common: set[str] = set()
    for form in data.get("common_names") or ():
        toks = tuple(_norm_token(t) for t in _split(str(form)))
        if len(toks) == 1:
            common.add(toks[0])
            common.update(exact.get(toks[0], ()))
        elif toks:
            common.update(phrases.get(toks, ()))
    explainers = {
        tuple(_norm_token(t) for t in _split(str(form)))
        for forms in (data.get("explainer_headlines") or {}).values()
        for form in forms
    }
    stop: set[str] = set()
    for words_list in (data.get("stopwords") or {}).values():
        stop.update(_norm_token(str(w)) for w in words_list)
    return Lexicon(
        stopwords=frozenset(stop),
        exact={k: tuple(dict.fromkeys(v)) for k, v in exact.items()},
        prefixes=tuple(prefixes),
        suffixes=tuple(suffixes),
        phrases={k: tuple(dict.fromkeys(v)) for k, v in phrases.items()},
        entities=frozenset(entities),
        number_words=words,
        magnitudes=mags,
        common=frozenset(common),
        explainers=tuple(sorted(f" {' '.join(e)} " for e in explainers if e)),
        subjects=frozenset(f"t:{t}" for t in data.get("headline_subjects") or ()),
        explainer_stems=frozenset(_stem(t) for e in explainers for t in e),
    )


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    """The lexicon shipped with the package, or the one at ``path``."""
    if path is None:
        text = resources.files("newsletter").joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    # libyaml's safe loader when built in: same data, several times faster
    return _lexicon_from_mapping(
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {})


# ---------------------------------------------------------------------------
# Features

_MAG = (r"millionen|millions|million|milliarden|milliarde|billionen|billions|billion|thousand|"
        r"tausend|mio|mrd|tsd|mn|bn|m|b|k")
_CUR = r"euros?|eur|dollars?|usd|pfund|pounds?|gbp|franken|yuan|rupees?|[€$£¥]"
_NUM = r"\d{1,3}(?:[.,]\d{3})+(?![.,]?\d)|\d+(?:[.,]\d+)?"
_AMOUNT_RE = re.compile(
    rf"(?P<cur1>[€$£¥]|\b(?:eur|usd|gbp|us\$)\b)?\s?(?P<num>{_NUM})\s?(?:-\s?)?"
    rf"(?:(?P<mag>{_MAG})(?:\.|(?![^\W\d_])))?(?:-?\s?(?P<cur2>{_CUR})(?![^\W\d_]))?",
    re.IGNORECASE,
)


_GROUPED_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")  # "1.200.000", "1,200"


def _parse_number(s: str) -> float | None:
    if _GROUPED_RE.fullmatch(s):
        s = s.replace(".", "").replace(",", "")
    else:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


_DIGIT_RE = re.compile(r"\d")
# An amount starts at most this far before its first digit ("us$ 5": a currency of up to
# three characters and a space); a margin on top costs nothing
_AMOUNT_LEAD = 8
_SPACED_MAGNITUDE_RE = re.compile(rf"\s(?:{_MAG})\b")


def _amounts(text: str) -> Iterable[re.Match[str]]:
    """What ``_AMOUNT_RE.finditer(text)`` yields, trying the regex only near digits.

    The regex tries every position of the text (that was most of the time spent on a
    report's amounts); every match holds a digit and starts at most ``_AMOUNT_LEAD`` characters before the
    first, so searching from there finds the same matches.
    """
    pos = 0
    while (digit := _DIGIT_RE.search(text, pos)) is not None:
        m = _AMOUNT_RE.search(text, max(pos, digit.start() - _AMOUNT_LEAD))
        if m is None:
            return
        yield m
        pos = m.end()


@lru_cache(maxsize=8)
def _number_word_shapes(lex: Lexicon) -> tuple[frozenset[int], frozenset[str]]:
    """The lengths of the lexicon's number words, and those that end in a space."""
    words = lex.number_words
    return frozenset(map(len, words)), frozenset(w for w in words if w[-1:].isspace())


@lru_cache(maxsize=256)
def _number_word_re(word: str) -> re.Pattern[str]:
    """"nine" followed by a magnitude word, in folded text."""
    return re.compile(rf"\b{re.escape(word)}\s+({_MAG})\b")


def _number_keys(text: str, lex: Lexicon) -> tuple[set[str], set[str]]:
    """Amount keys ("#5.33e+08") and small-number keys, and year keys, found in ``text``."""
    keys: set[str] = set()
    years: set[str] = set()
    for m in _amounts(text):
        value = _parse_number(m.group("num"))
        if value is None:
            continue
        mag = m.group("mag")
        start = m.start("num")
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "./"):
            continue  # part of a version, a date or an identifier
        money = bool(m.group("cur1") or m.group("cur2"))
        if mag:
            factor = lex.magnitudes.get(_fold(mag).rstrip("."))
            if factor is None or (len(mag) == 1 and not money and mag.lower() != "m"):
                mag = None
            else:
                value *= factor
        if not mag and not money and value.is_integer() and 1900 <= value <= 2100:
            years.add(f"y:{int(value)}")
            continue
        if not mag and not money and value < 10:
            continue
        keys.add(f"#{value:.3g}")
    # "nine million": a number word stands right before the spaces before a magnitude word,
    # so only the words found there (or, for words ending in a space, anywhere) are searched
    folded = _fold(text)
    gaps: set[int] = set()  # where the spaces before a magnitude word start
    for m in _SPACED_MAGNITUDE_RE.finditer(folded):
        q = m.start()
        while q and folded[q - 1].isspace():  # (what \s matches)
            q -= 1
        gaps.add(q)
    if not gaps:
        return keys, years
    lengths, spaced = _number_word_shapes(lex)
    words = {folded[q - n:q] for q in gaps for n in lengths if n <= q}.intersection(lex.number_words)
    words.update(w for w in spaced if w in folded)
    for word in words:
        value = lex.number_words[word]
        for m in _number_word_re(word).finditer(folded):
            factor = lex.magnitudes.get(m.group(1))
            if factor and factor >= 1e3:
                keys.add(f"#{value * factor:.3g}")
    return keys, years


@dataclass(frozen=True)
class Features:
    """What one report offers for comparison."""

    lang: str
    when: datetime
    concepts: frozenset[str]  # lexicon concept ids (entities "e:", terms "t:")
    names: frozenset[str]  # names: mixed case, acronyms, English words capitalised mid-sentence
    caps: frozenset[str]  # every capitalised token (German nouns too), for the cross-language check
    numbers: frozenset[str]  # amount and count keys
    years: frozenset[str]
    stems: frozenset[str]  # word stems of title and text (same-language similarity)
    title_stems: frozenset[str]
    title_names: frozenset[str]  # names and entities in the headline
    grams: frozenset[str]  # character 5-grams of the content words (same-language similarity)
    title_caps: frozenset[str] = frozenset()  # capitalised headline words (names or German nouns)
    title_words: frozenset[str] = frozenset()  # headline word stems and subject terms, not names
    topics: frozenset[str] = frozenset()  # the tagger's topics, when known
    explainer: bool = False  # the headline promises background ("what it means"), not news


# A capitalised English word may only start a sentence (no name then): the text before it,
# less spaces, opening quotes and brackets, ends in one of _SENTENCE_ENDS or is empty.
_OPENERS = " \t\"'„“”‚‘’«»(["
_SENTENCE_ENDS = ".!?:|–—-\n"


def _starts_sentence(before: str, first: bool) -> bool:
    """Whether a word starts a sentence, from ``before``, the text between it and the
    previous word (``first``: there is none). English capitalises a sentence's first word,
    so a capital there does not mark a name."""
    rest = before.rstrip(_OPENERS)
    return rest[-1] in _SENTENCE_ENDS if rest else first


def _stem(tok: str) -> str:
    """A crude stemmer that works for English and German: the first six letters."""
    return tok[:6]


_SPLIT_RE = re.compile(rf"({_TOKEN_RE.pattern})")  # split keeps the tokens and what lies between


class _Token(NamedTuple):
    """What a token, as written, gives ``features`` (with one lexicon) wherever it stands
    outside a phrase: news repeats its words, so this is worked out once per distinct token."""

    norm: str  # folded, without dots (what the lexicon matches)
    concepts: tuple[str, ...] = ()  # its lexicon concepts (then it is nothing else)
    entities: tuple[str, ...] = ()  # those that are entities ("e:"): names in a headline
    subjects: tuple[str, ...] = ()  # subject terms and its stem: headline words
    stem: str = ""  # a content word of three letters or more without a digit: its stem...
    grams: tuple[str, ...] = ()  # ...and its character 5-grams
    caps: tuple[str, ...] = ()  # a capitalised word: its forms for ``caps`` ("iphones", "iphone")
    upper_inside: bool = False  # "iPhone", "CNIL": a name wherever it stands


def _token(text: str, lex: Lexicon) -> _Token:
    norm = _norm_token(text)
    if not norm or norm.isdigit():
        return _Token(norm)
    cids = _token_concepts(lex, norm)
    if cids:
        subjects = tuple(c for c in cids if c in lex.subjects)
        # and its stem, for the forms the lexicon lacks ("Journalist")
        return _Token(norm, cids, tuple(c for c in cids if c.startswith("e:")),
                      subjects + (_stem(norm),) if subjects else ())
    if (norm in lex.stopwords or len(norm) < 2 or norm in lex.magnitudes
            or norm in lex.number_words):
        return _Token(norm)
    stem = ""
    grams: tuple[str, ...] = ()
    # (isalpha and islower are quick tests in C that settle most words: no letter is a digit,
    # and no lower-case word has an upper-case letter)
    if len(norm) >= 3 and (norm.isalpha() or not any(ch.isdigit() for ch in norm)):
        stem = _stem(norm)
        padded = f" {norm} "
        grams = tuple([padded[k:k + 5] for k in range(max(1, len(padded) - 4))])
    rest = text[1:]
    upper_inside = not rest.islower() and any(c.isupper() for c in rest)
    caps: tuple[str, ...] = ()
    if text[0].isupper() or upper_inside:
        # "Apples Foto-Scan", "iPhones": the name without the s too
        caps = (norm, norm[:-1]) if len(norm) > 4 and norm.endswith("s") else (norm,)
    return _Token(norm, (), (), (), stem, grams, caps, upper_inside)


class _Vocabulary:
    """The tokens ``features`` has seen with one lexicon, by their text and by what they
    give: most words are plain lower-case content words or stopwords, and a set
    intersection (in C) picks out the few that need more than their stem and grams."""

    MAX_TOKENS = 30_000  # then it starts afresh (some 20 MB; a parser process holds one)

    def __init__(self, lex: Lexicon) -> None:
        self.tokens: dict[str, _Token] = {}
        self.starts: set[str] = set()  # those that may start a phrase
        self.special: set[str] = set()  # those in the lexicon, and capitalised words
        self.content: set[str] = set()  # content words (with a stem and grams)
        self.stems: dict[str, str] = {}  # content words: their stems
        self.grams: dict[str, tuple[str, ...]] = {}  # content words: their 5-grams
        lengths: dict[str, set[int]] = defaultdict(set)
        for phrase in lex.phrases:
            lengths[phrase[0]].add(len(phrase))
        # the lengths of the phrases each first word starts, longest first
        self.phrase_lengths = {t: sorted(ns, reverse=True) for t, ns in lengths.items()}
        self.phrase_pairs = {phrase[:2] for phrase in lex.phrases}  # their first two words

    def learn(self, texts: Iterable[str], lex: Lexicon) -> None:
        for t in texts:
            norm, concepts, _, _, stem, grams, caps, _ = tok = _token(t, lex)
            if norm in self.phrase_lengths:
                self.starts.add(t)
            if concepts or caps:
                self.special.add(t)
            if stem:
                self.stems[t] = stem
                self.grams[t] = grams
                self.content.add(t)
            # known last, and nothing ever removed: another thread that finds it known
            # finds all of it
            self.tokens[t] = tok


_VOCABULARIES: weakref.WeakKeyDictionary[Lexicon, _Vocabulary] = weakref.WeakKeyDictionary()


def _vocabulary(lex: Lexicon) -> _Vocabulary:
    """The vocabulary of ``lex``, a new one when it has grown too big (replaced, not cleared,
    for a call in another thread that still reads it)."""
    vocab = _VOCABULARIES.get(lex)
    if vocab is None or len(vocab.tokens) > vocab.MAX_TOKENS:
        vocab = _VOCABULARIES[lex] = _Vocabulary(lex)
    return vocab


def _phrases(toks: Sequence[str], vocab: _Vocabulary,
             lex: Lexicon) -> list[tuple[int, int, tuple[str, ...]]]:
    """The lexicon phrases in a token sequence, longest match first: (start, end, concepts)."""
    found: list[tuple[int, int, tuple[str, ...]]] = []
    known = vocab.tokens
    free = 0  # the first token no phrase has taken
    for i in [k for k, t in enumerate(toks) if t in vocab.starts]:
        if i < free or i + 1 == len(toks):
            continue
        first = known[toks[i]].norm
        if (first, known[toks[i + 1]].norm) not in vocab.phrase_pairs:
            continue  # ("in" starts a phrase, but mostly stands alone)
        for n in vocab.phrase_lengths[first]:
            if i + n <= len(toks):
                cids = lex.phrases.get(tuple([known[t].norm for t in toks[i:i + n]]))
                if cids:
                    found.append((i, i + n, cids))
                    free = i + n
                    break
    return found


def features(
    title: str,
    text: str,
    lang: str,
    when: datetime,
    lex: Lexicon | None = None,
    topics: Iterable[str] = (),
) -> Features:
    """The comparison features of one report (pure; the caller caches).

    A report's sets do not depend on word order, so each distinct token is looked up once
    (``_Vocabulary``, kept across reports); only phrases and the English
    capital-after-a-full-stop rule look at the tokens in order.
    """
    lex = lex or load_lexicon()
    title = html.unescape(title or "")
    text = html.unescape(text or "")
    vocab = _vocabulary(lex)
    known = vocab.tokens
    concepts: set[str] = set()
    names: set[str] = set()
    caps: set[str] = set()
    title_names: set[str] = set()
    title_caps: set[str] = set()
    title_terms: set[str] = set()
    all_content: set[str] = set()  # content words (stems, grams) of title and text
    title_content: set[str] = set()
    head = ""
    for part, is_title in ((title, True), (text, False)):
        pieces = _SPLIT_RE.split(_unabbreviate(part))  # between, token, between, ..., between
        toks = pieces[1::2]
        distinct = set(toks)
        vocab.learn(distinct.difference(known), lex)  # (in C: a set less a dict's keys)
        if is_title:
            head = f" {' '.join([known[t].norm for t in toks])} "
        covered: set[int] = set()
        if not vocab.starts.isdisjoint(distinct):  # phrases first, longest match
            for start, end, cids in _phrases(toks, vocab, lex):
                concepts.update(cids)
                if is_title:
                    title_names.update(c for c in cids if c.startswith("e:"))
                    title_terms.update(c for c in cids if c in lex.subjects)
                covered.update(range(start, end))
            if covered:  # a token counts where it stands outside a phrase
                distinct = {t for k, t in enumerate(toks) if k not in covered}
        content = distinct & vocab.content  # (set operations in C: most words need no more)
        all_content |= content
        if is_title:
            title_content = content
        maybe_names: dict[str, str] = {}  # capitalised English words: names unless sentence-initial
        for t in distinct & vocab.special:
            norm, cids, entities, subjects, _, _, forms, upper_inside = known[t]
            if cids:
                concepts.update(cids)
                if is_title:
                    title_names.update(entities)
                    title_terms.update(subjects)
                continue
            caps.update(forms)
            if upper_inside:
                names.add(norm)
            elif lang == "en" and not is_title:
                maybe_names[t] = norm
            if is_title and len(norm) >= 3:
                title_caps.add(norm)
        if maybe_names:  # a name if it stands once where no sentence starts
            for k, t in enumerate(toks):
                if (t in maybe_names and k not in covered
                        and not _starts_sentence(pieces[2 * k], k == 0)):
                    names.add(maybe_names.pop(t))
                    if not maybe_names:
                        break
    nums, years = _number_keys(title + " .\n" + text, lex)
    explainer = any(e in head for e in lex.explainers)
    # A headline word is a name if it is one in the text (English headlines capitalise every
    # word; German ones every noun) or is written like one (TikTok, CNIL).
    title_names |= {n for n in title_caps if n in names}
    title_stems = set(map(vocab.stems.__getitem__, title_content))
    return Features(
        lang=lang,
        when=when,
        concepts=frozenset(concepts),
        names=frozenset(names),
        caps=frozenset(caps),
        numbers=frozenset(nums),
        years=frozenset(years),
        stems=frozenset(map(vocab.stems.__getitem__, all_content)),
        title_stems=frozenset(title_stems),
        title_names=frozenset(title_names),
        grams=frozenset().union(*map(vocab.grams.__getitem__, all_content)),
        title_caps=frozenset(title_caps),
        # names have their own evidence; a name's stem is not a second, headline one
        # and an explainer's own words ("what we know") say nothing about the event
        title_words=frozenset(title_stems - {_stem(n) for n in names} - lex.explainer_stems)
        | frozenset(title_terms),
        topics=frozenset(topics),
        explainer=explainer,
    )


# ---------------------------------------------------------------------------
# Pair score


_FREE_DF = 4  # a key in up to this many reports is not damped: one story has several reports


def _damp(df: int) -> float:
    """A key shared by many reports of the period says less (TikTok in a TikTok week)."""
    return 1.0 / (1.0 + math.log(max(df, _FREE_DF) / _FREE_DF))


class _Scorer:
    """Pair evidence within one batch of reports.

    ``local_df[i]`` counts, per key of report i, the reports near it in time; a key shared
    by many of them says less. What depends on one report (key weights, gram norms,
    headline names) is computed once, so a pair costs only set intersections.
    """

    def __init__(
        self,
        feats: Sequence[Features],
        lex: Lexicon,
        local_df: Sequence[Mapping[str, int]],
        gram_df: Mapping[str, int],
        params: MergeParams,
    ) -> None:
        self.feats = feats
        self.lex = lex
        self.params = params
        self.local_df = local_df
        # _damp of each distinct count once: a dict lookup per key instead of a call
        damp_of = {df: _damp(df) for df in
                   set(gram_df.values()).union(*(d.values() for d in local_df))}
        self.damp = [{k: damp_of[df] for k, df in d.items()} for d in local_df]
        gw = {g: damp_of[df] for g, df in gram_df.items()}
        self.gram_weight = gw
        self.norm = [sum(map(gw.__getitem__, f.grams)) if f.grams else 0.0 for f in feats]
        # A German headline capitalises every noun; "Trump" is a name there if some
        # report of the batch uses it as one.
        known = frozenset().union(*(f.names for f in feats)) if feats else frozenset()
        self.title_names = [f.title_names | (f.title_caps & known) for f in feats]
        self._common: dict[str, bool] = {}
        # what a pair needs of one report, worked out once per report, not once per pair
        self.amounts = [_large_amounts(f.numbers) for f in feats]
        # each concept's and name's weight in report i (1.0 where it is rare), so that a pair
        # looks them up without defaults or building "n:" keys: the pair loop is the merge
        self.concept_damp = [{c: d.get(c, 1.0) for c in f.concepts}
                             for f, d in zip(feats, self.damp)]
        self.name_damp = [{n: d.get("n:" + n, 1.0) for n in f.caps | f.names}
                          for f, d in zip(feats, self.damp)]
        # a named law or authority pins an event down better than a country (p:)
        self.entity_weight = {c: 1.0 if c.startswith("p:") else 2.0 for c in lex.entities}
        self.title_checks = [tuple((n, n.startswith(("e:", "p:", "t:")), _stem(n)) for n in t)
                             for t in self.title_names]

    def _is_common(self, name: str) -> bool:
        c = self._common.get(name)
        if c is None:
            c = self._common[name] = self.lex.is_common(name)
        return c

    def total(self, i: int, j: int) -> tuple[float, bool]:
        """(score, topic_only) of reports i and j."""
        values, specific = self._parts(i, j)
        return self._capped(sum(values), specific)

    def parts(self, i: int, j: int) -> tuple[float, dict[str, float]]:
        """The score of reports i and j with its parts, for debugging and tuning."""
        values, specific = self._parts(i, j)
        parts = dict(zip(_PARTS, values))
        total, topic_only = self._capped(sum(values), specific)
        if topic_only:
            parts["topic_only"] = total - sum(values)
        return total, parts

    def _capped(self, total: float, specific: bool) -> tuple[float, bool]:
        """Without evidence specific to one event a pair scores at most ``topic_cap`` and is
        marked topic-only: it never merges on its own (``group_indices``)."""
        if specific:
            return total, False
        return min(total, self.params.topic_cap), True

    def _parts(self, i: int, j: int) -> tuple[tuple[float, ...], bool]:
        """The evidence parts (in ``_PARTS`` order) and whether any is specific to one event."""
        a, b = self.feats[i], self.feats[j]
        da, db = self.damp[i], self.damp[j]
        # a key's weight in a pair is that of its commoner side (_damp is monotone)
        shared_numbers = a.numbers & b.numbers
        numbers: float = 0
        if shared_numbers:
            numbers = sum([
                (3.0 if float(k[1:]) >= 1000 else 1.5) * min(da.get(k, 1.0), db.get(k, 1.0))
                for k in shared_numbers
            ])
        xs, ys = self.amounts[i], self.amounts[j]
        if xs and ys:  # large amounts within 10 % ("533 million" vs "mehr als 500 Millionen")
            numbers += 1.5 * sum(1 for k, u in xs.items() if k not in shared_numbers
                                 and any(0.9 <= u / v <= 1.1 for kk, v in ys.items()
                                         if kk not in shared_numbers))
        ents: float = 0
        terms: float = 0
        rare_entity = False  # a shared entity that is not much reported: specific to one event
        ca, cb = self.concept_damp[i], self.concept_damp[j]
        entity_weight = self.entity_weight
        for c in a.concepts & b.concepts:
            wa, wb = ca[c], cb[c]
            w = wa if wa <= wb else wb  # min(), without a call
            kind = entity_weight.get(c)
            if kind is not None:
                ents += kind * w
                if not rare_entity and not self._is_common(c):
                    rare_entity = True
            else:
                terms += 0.5 * w
        same = a.lang == b.lang
        if same:
            # a name must be a name in one report (mid-sentence capital, mixed case,
            # acronym); in the other, a capital anywhere is enough (a headline's first word)
            shared_names = (a.names & b.caps) | (b.names & a.caps)
        else:
            # capitalised in both languages: names, rarely a loanword (lexicon terms are
            # taken out before), since German and English nouns differ
            shared_names = a.caps & b.caps
        names: float = 0
        na, nb = self.name_damp[i], self.name_damp[j]
        for n in shared_names:
            wa, wb = na[n], nb[n]
            names += 2.0 * (wa if wa <= wb else wb)
        similarity = 0.0
        words = 0.0
        headline = 0.0
        rare_headline = False
        if same:
            if a.grams and b.grams:
                shared = sum(map(self.gram_weight.__getitem__, a.grams & b.grams))
                similarity = shared / math.sqrt(self.norm[i] * self.norm[j])
            words = 10.0 * similarity
            if a.explainer or b.explainer:
                headline, rare_headline = self._headline(i, j)
        # A headline names who the story is about: a name in one headline that the other
        # report never mentions points to two events (two TikTok stories in one week).
        conflict = -self._conflict(i, j)
        # Much-reported companies and places and privacy vocabulary say what a report is about,
        # not which event: without anything specific to one event the score stays below
        # every threshold, so two TikTok stories of one week cannot merge on topic alone.
        specific = (
            numbers > 0
            or rare_entity
            or any(not self._is_common(n) for n in shared_names)
            or similarity >= self.params.specific_similarity
            or rare_headline
        )
        return (numbers, ents, terms, names, words, headline, conflict), specific

    def _headline(self, i: int, j: int) -> tuple[float, bool]:
        """Evidence from headline words an explainer shares with a report in its language.

        An explainer ("Politiker-Leak: was wir wissen") repeats few of the news report's
        amounts and names, but its headline names the subject in a word or two; one that
        few other reports of those days use in theirs ("Daten von Politikern veröffentlicht")
        says which event it explains. Kept to explainers: between two news reports, a shared
        headline word (a German noun, a company not written like a name) merged different
        events of one company on the synthetic benchmark.
        """
        a, b = self.feats[i], self.feats[j]
        shared = a.title_words & b.title_words
        if not shared:
            return 0.0, False
        dfa, dfb = self.local_df[i], self.local_df[j]
        rare = self.params.rare_headline_df
        n = sum(1 for st in shared if max(dfa.get("h:" + st, 1), dfb.get("h:" + st, 1)) <= rare)
        return self.params.headline_word * n, n > 0

    def _conflict(self, i: int, j: int) -> float:
        a, b = self.feats[i], self.feats[j]
        missing_a = sum(1 for check in self.title_checks[i] if not _mentions(b, *check))
        missing_b = sum(1 for check in self.title_checks[j] if not _mentions(a, *check))
        penalty = 1.5 * (missing_a + missing_b)
        if missing_a and missing_b:
            penalty += 1.5  # each headline is about someone the other never names
        if a.topics and b.topics and not a.topics & b.topics:
            penalty += 2.0  # the tagger sees different subjects
        return penalty


_PARTS = ("numbers", "entities", "terms", "names", "words", "headline", "conflict")


def _mentions(f: Features, name: str, concept: bool, stem: str) -> bool:
    """Whether a report mentions a headline name (``concept``: a lexicon id; ``stem``: its
    ``_stem``, both worked out once per report by the scorer)."""
    if concept:
        return name in f.concepts
    return name in f.caps or name in f.names or stem in f.stems


def _large_amounts(numbers: Iterable[str]) -> dict[str, float]:
    """A report's amount keys of 100,000 and more, with their values."""
    return {k: v for k in numbers if (v := float(k[1:])) >= 1e5}


def pair_score(a: Features, b: Features, lex: Lexicon | None = None) -> tuple[float, dict[str, float]]:
    """Evidence that two reports are one event, as a batch of their own (for tests and tuning)."""
    return batch_scorer([a, b], MergeParams(), lex or load_lexicon()).parts(0, 1)


# ---------------------------------------------------------------------------
# Grouping


def _when(t: TaggedItem) -> datetime:
    dt = t.article.published or t.item.first_seen
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _blocking_keys(f: Features) -> Iterable[str]:
    """Keys rare enough to find candidates by: numbers, entities, names, headline words."""
    yield from f.numbers
    yield from (c for c in f.concepts if c.startswith(("e:", "p:")))
    yield from ("n:" + n for n in f.caps)
    yield from ("s:" + s for s in f.title_stems)
    yield from ("h:" + s for s in f.title_words)


def _df_keys(f: Features) -> Iterable[str]:
    """The keys whose frequency around a report's date weighs them in a pair score."""
    yield from f.numbers
    yield from f.concepts
    yield from ("n:" + n for n in f.caps)
    yield from ("h:" + s for s in f.title_words)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))


def batch_scorer(feats: Sequence[Features], params: MergeParams, lex: Lexicon) -> _Scorer:
    """A scorer whose key weights reflect how common each key is around each report's date."""
    window = params.window.total_seconds()
    times: dict[str, list[float]] = defaultdict(list)
    keys = [set(_df_keys(f)) for f in feats]
    stamps = [f.when.timestamp() for f in feats]
    for ks, t in zip(keys, stamps):
        for k in ks:
            times[k].append(t)
    for ts in times.values():
        ts.sort()
    local_df = []
    for ks, t in zip(keys, stamps):
        d = {}
        for k in ks:
            ts = times[k]
            if len(ts) > 1:
                d[k] = bisect_right(ts, t + window) - bisect_left(ts, t - window)
        local_df.append(d)
    gram_df = Counter(chain.from_iterable(f.grams for f in feats))  # (counted in C)
    return _Scorer(feats, lex, local_df, gram_df, params)


def _need(params: MergeParams, a: Features, b: Features) -> float:
    days = abs((a.when - b.when).total_seconds()) / 86400.0
    base = params.same_language if a.lang == b.lang else params.cross_language
    if a.explainer or b.explainer:
        # an explainer follows the news and repeats little of it (no amounts, few names):
        # what it shares counts for more; topic overlap alone still never merges (topic_only)
        base -= params.explainer_discount
    return base + params.days_penalty * days


def candidate_pairs(feats: Sequence[Features], params: MergeParams) -> set[tuple[int, int]]:
    """Pairs that share a rare key and lie within the time window (blocking).

    A key in more than ``max_block`` reports blocks nothing, whatever the batch size: in
    a busy week (10,000 items, 2,500 relevant) keys in 60 to 125 reports tripled the pairs
    to score (128k instead of 41k) without changing a single group on the benchmark corpus;
    the reports of one event share rarer keys too (amounts, names, headline words).
    """
    window = params.window.total_seconds()
    cap = params.max_block
    index: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        for k in set(_blocking_keys(f)):
            index[k].append(i)
    stamps = [f.when.timestamp() for f in feats]
    candidates: set[tuple[int, int]] = set()
    for posting in index.values():
        if len(posting) < 2 or len(posting) > cap:
            continue
        posting.sort(key=stamps.__getitem__)
        for x, i in enumerate(posting):
            ti = stamps[i]
            for j in posting[x + 1:]:
                if stamps[j] - ti > window:
                    break
                candidates.add((i, j) if i < j else (j, i))
    return candidates


def group_indices(
    feats: Sequence[Features], params: MergeParams = MergeParams(), lex: Lexicon | None = None
) -> list[list[int]]:
    """Groups of indices into ``feats`` that report one event, each in input order."""
    lex = lex or load_lexicon()
    fast = batch_scorer(feats, params, lex)
    scores: dict[tuple[int, int], float] = {}
    edges: list[tuple[float, int, int]] = []
    for i, j in sorted(candidate_pairs(feats, params)):
        s, topic_only = fast.total(i, j)
        need = _need(params, feats[i], feats[j])
        scores[(i, j)] = s / need
        if s >= need and not topic_only:
            edges.append((s / need, i, j))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))
    uf = _UnionFind(len(feats))
    for _, i, j in edges:
        ri, rj = uf.find(i), uf.find(j)
        if ri == rj:
            continue
        mi, mj = uf.members[ri], uf.members[rj]
        if len(mi) > 1 or len(mj) > 1:
            # average link: most pairs across the two groups must be near the threshold,
            # so one strong link cannot chain two events together
            linked = sum(
                1 for x in mi for y in mj
                if scores.get((x, y) if x < y else (y, x), 0.0) >= params.group_floor
            )
            if linked < params.link_ratio * len(mi) * len(mj):
                continue
        uf.union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(feats)):
        groups[uf.find(i)].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


# ---------------------------------------------------------------------------
# Stories


def _lead_key(t: TaggedItem, prefer_language: str | None, pos: int) -> tuple[Any, ...]:
    a = t.article
    text_len = len(a.text or "")
    return (
        0 if a.kind == "seed" else 1,
        0 if text_len >= 200 else 1,  # a report with a real body beats a bare headline
        0 if prefer_language and a.language == prefer_language else 1,
        -min(text_len, 5000),
        _when(t),
        pos,
    )


def _ordered_union(values: Iterable[str], order: Sequence[str] | None) -> tuple[str, ...]:
    seen = list(dict.fromkeys(values))
    if order is None:
        return tuple(seen)
    rank = {v: i for i, v in enumerate(order)}
    return tuple(sorted(seen, key=lambda v: (rank.get(v, len(rank)), seen.index(v))))


def build_story(
    members: Sequence[TaggedItem], *, prefer_language: str | None = None, topic_order: Sequence[str] | None = None
) -> Story:
    """One story from the reports of one event: the best report leads, the rest follow."""
    ordered = sorted(
        enumerate(members), key=lambda p: _lead_key(p[1], prefer_language, p[0])
    )
    lead = ordered[0][1]
    also = tuple(t for _, t in ordered[1:])
    everyone = (lead,) + also
    topics = _ordered_union((tp for t in everyone for tp in t.tags.topics), topic_order)
    evidence: dict[str, tuple[str, ...]] = {}
    for topic in topics:
        phrases = [p for t in everyone for p in t.tags.evidence.get(topic, ())]
        if phrases:
            evidence[topic] = tuple(dict.fromkeys(phrases))
    watchlist = tuple(dict.fromkeys(w for t in everyone for w in t.watchlist))
    return Story(lead=lead, also=also, topics=topics, evidence=evidence, watchlist=watchlist)


def item_features(t: TaggedItem, lex: Lexicon | None = None) -> Features:
    a = t.article
    return features(a.title, a.text, (a.language or "en")[:2].lower(), _when(t), lex, t.tags.topics)


def feature_key(title: str, text: str, language: str | None, when: datetime,
                topics: Sequence[str]) -> str:
    """Everything ``item_features`` reads, hashed: features computed elsewhere (the
    fetcher's parser processes) are used only for a report with this very key."""
    lang = (language or "en")[:2].lower()
    return hashlib.sha256(f"{title}\0{text}\0{lang}\0{when.isoformat()}\0{','.join(topics)}"
                          .encode("utf-8", "surrogatepass")).hexdigest()[:32]


def item_feature_key(t: TaggedItem) -> str:
    return feature_key(t.article.title, t.article.text, t.article.language, _when(t),
                       t.tags.topics)


class GroupCache(Protocol):
    """Where ``merge_stories`` keeps groups by the fingerprint of their inputs (cache.py)."""

    def get(self, fingerprint: str) -> list[list[int]] | None: ...

    def put(self, fingerprint: str, groups: Sequence[Sequence[int]]) -> None: ...


@lru_cache(maxsize=1)
def _code_version() -> str:
    """This module and its lexicon: a change to either may change a decision."""
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(resources.files("newsletter").joinpath(LEXICON_FILE).read_bytes())
    return h.hexdigest()


def groups_fingerprint(items: Sequence[TaggedItem], params: MergeParams) -> str:
    """Everything ``group_indices`` reads, hashed: the items in order (key, language, date,
    title, text, topics), the parameters and the code and lexicon."""
    h = hashlib.sha256(_code_version().encode())
    h.update(repr(params).encode())
    for t in items:
        a = t.article
        h.update(f"\x1e{t.item.key}\x1f{a.language}\x1f{_when(t).isoformat()}\x1f"
                 f"{','.join(t.tags.topics)}\x1f{a.title}\x1f{a.text}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@dataclass(frozen=True)
class PackedFeatures:
    """``Features`` on their way from a parser process to the merge: the 5-grams as one
    string, a tenth of the memory of their frozenset. A cold build holds one per relevant
    report while the parser processes still run (its memory peak); the merge unpacks them
    once those processes are gone.

    One string is also one object to pickle and unpickle: the build receives them while
    it fetches, and a few hundred small strings per report, made and then deduplicated
    (``sys.intern``) as they arrived, cost the fetching process 0.3 s of a cold build."""

    features: Features  # with no grams
    grams: str  # joined by _GRAM_SEP

    @classmethod
    def pack(cls, f: Features) -> "PackedFeatures":
        return cls(replace(f, grams=frozenset()), _GRAM_SEP.join(f.grams))

    def unpack(self, pool: dict[str, str] | None = None) -> Features:
        """The features; with ``pool`` (one for all the reports of a merge), each distinct
        gram is one object: less memory, and set intersections that match grams by identity
        (the merge's pair scoring, a tenth faster)."""
        if not self.grams:
            return replace(self.features, grams=frozenset())
        parts = self.grams.split(_GRAM_SEP)
        return replace(self.features, grams=frozenset(
            parts if pool is None else map(pool.setdefault, parts, parts)))


_GRAM_SEP = "\x00"  # never inside a gram: grams are made of a word's letters and spaces


def merge_stories(
    items: Sequence[TaggedItem],
    *,
    prefer_language: str | None = None,
    topic_order: Sequence[str] | None = None,
    params: MergeParams | None = None,
    cache: GroupCache | None = None,
    known: Mapping[str, PackedFeatures] | None = None,
) -> list[Story]:
    """Group reports of one event into stories, in the order their first report came in.

    ``prefer_language`` picks the lead among equally good reports (the reader's language);
    ``topic_order`` (the taxonomy's) orders the merged topics. Summary and rank stay unset:
    they are later stages. ``cache``: groups of an unchanged input are reused, not recomputed
    (a warm build); the fingerprint covers every input of the decision. ``known``: features
    computed ahead (where the feeds were parsed) by ``item_feature_key``; the rest here.
    """
    params = params or MergeParams()
    groups: list[list[int]] | None = None
    fp = ""
    if cache is not None:
        fp = groups_fingerprint(items, params)
        groups = cache.get(fp)
        if groups is not None and sorted(i for g in groups for i in g) != list(range(len(items))):
            groups = None  # not a partition of these items: never trust it
    if groups is None:
        lex = load_lexicon()
        known = known or {}
        pool: dict[str, str] = {}
        feats = [p.unpack(pool) if (p := known.get(item_feature_key(t)))
                 else item_features(t, lex) for t in items]
        del pool
        groups = group_indices(feats, params, lex)
        if cache is not None:
            cache.put(fp, groups)
    return [
        build_story([items[i] for i in g], prefer_language=prefer_language, topic_order=topic_order)
        for g in groups
    ]
