"""Compiled term matching over word tokens, linear in the length of the text.

Why tokens and not one big regex: German compounds need prefix, suffix and infix
matches inside a word ("Nutzerdaten", "Diensthandys", "Rechenzentren"), and terms of
different topics overlap ("Datenschutzbehörde" is both a data-protection authority
and contains "behörde"). A regex alternation reports only one of overlapping matches.
Instead every distinct token is looked up once (dictionary probes of its prefixes,
suffixes and substrings, cached across items), and multi-word terms are walked from
their first word. Cost per item is proportional to its number of tokens.

Term syntax (lower-cased; used by the taxonomy data file):
  ``word``      the whole word          ``word*``   a word starting with it
  ``*word``     a word ending with it   ``*word*``  a word containing it
  ``(a|b)``     alternatives            ``(s)?``    optional part
  ``#``         a number                ``~``       zero to three arbitrary words
Words of a term are separated by spaces or hyphens; in the text a hyphen also
separates words, and a hyphenated compound is tried joined as well
("Daten-Leck" matches ``datenleck``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_NUMBER = re.compile(r"\d+(?:s|er|ern)?")
_GROUP = re.compile(r"\(([^()]*)\)(\?)?")
_ATOM = re.compile(r"^(?:#|~|\*?[^\W_]+(?:'[^\W_]+)*\*?)$")
GAP = -1  # atom id of ``~``
# Umlauts folded for matching, so a German plural with umlaut matches its singular's
# prefix ("Fingerabdruck*" -> "Fingerabdrücke") and "Strasse" equals "Straße".
_FOLD = {ord("ä"): "a", ord("ö"): "o", ord("ü"): "u", ord("ß"): "ss"}
_MAX_GAP = 3
# Sentence ends: punctuation followed by space, or a line break. Abbreviations are
# filtered in ``split_sentences``.
_SENT_END = re.compile(r"[.!?\u2026]+[\"')\]]*\s+|\s*\n\s*")
_ABBREV = frozenset(
    "dr mr mrs ms prof st nr no vs bzw ca vgl usw inc ltd co corp jr sr gov sen rep "
    "abs art mio mrd bspw evtl ggf inkl jh sog z b d h u a s o".split()
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # lower-cased word (possessive 's removed)
    start: int  # offsets into the normalised text, for evidence
    end: int
    joined_end: int = -1  # for the first word of a hyphen compound: where the compound ends


def expand(pattern: str) -> list[str]:
    """All variants of a pattern with ``(a|b)`` groups and ``(x)?`` options expanded."""
    m = _GROUP.search(pattern)
    if not m:
        return [pattern]
    options = m.group(1).split("|")
    if m.group(2):
        options.append("")
    out: list[str] = []
    for opt in options:
        out.extend(expand(pattern[: m.start()] + opt + pattern[m.end():]))
    return out


def parse_term(pattern: str) -> list[tuple[str, ...]]:
    """Expanded variants of a term, each a tuple of atoms; ValueError if malformed."""
    variants = []
    for variant in expand(pattern.lower().strip().translate(_FOLD)):
        if any(c in variant for c in "()|?"):
            raise ValueError(f"unbalanced group in term {pattern!r}")
        # the same possessive stripping as ``tokenize``: "children's" is the word "children"
        atoms = tuple(a[:-2] if a.endswith("'s") else a.rstrip("'")
                      for a in re.split(r"[\s\-]+", variant) if a.strip("'"))
        if not atoms:
            continue
        for a in atoms:
            if not _ATOM.match(a):
                raise ValueError(f"bad word {a!r} in term {pattern!r}")
        if atoms[0] == "~" or atoms[-1] == "~":
            raise ValueError(f"term {pattern!r} cannot start or end with ~")
        variants.append(atoms)
    if not variants:
        raise ValueError(f"empty term {pattern!r}")
    return variants


def tokenize(text: str) -> list[Token]:
    """Lower-cased word tokens; hyphen compounds remember their joined extent."""
    low = text.lower()
    toks: list[Token] = []
    run_start = -1  # index of the first token of the current hyphen run
    for m in _TOKEN.finditer(low):
        word = m.group()
        if word == "us" and text[m.start(): m.end()] == "US":
            word = "usa"  # the country, not the pronoun
        elif word.endswith("'s"):
            word = word[:-2]
        word = word.translate(_FOLD)
        start = m.start()
        if toks and start - toks[-1].end == 1 and low[start - 1] == "-":
            if run_start < 0:
                run_start = len(toks) - 1
        else:
            run_start = -1
        toks.append(Token(word, start, m.end()))
        if run_start >= 0:
            first = toks[run_start]
            toks[run_start] = Token(first.text, first.start, first.end, m.end())
    return toks


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of sentences and lines; a dot after an abbreviation does not end one."""
    spans = []
    start = 0
    for m in _SENT_END.finditer(text):
        punct = m.group().strip()
        if punct and "\n" not in m.group():
            nxt = text[m.end(): m.end() + 1]
            if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'(["):
                continue
            if punct.startswith(".") and len(punct) == 1:
                ws = max(text.rfind(" ", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
                word = text[ws: m.start()]
                bare = word.lower().strip("\"'(")
                if len(bare) <= 1 or bare in _ABBREV or "." in bare:
                    continue
        if m.start() > start:
            spans.append((start, m.start() + len(punct)))
        start = m.end()
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    return spans


class TermMatcher:
    """Finds every occurrence of many terms in a token list; compile once, use for all items."""

    def __init__(self, terms: Sequence[str], stoplist: Iterable[str] = ()) -> None:
        stoplist = [w.lower().translate(_FOLD) for w in stoplist]
        self.terms = tuple(terms)
        self._atom_ids: dict[str, int] = {}
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self._suffix: dict[str, list[int]] = {}
        self._infix: dict[str, list[int]] = {}
        self._number_atom = -2
        self._single: dict[int, list[int]] = {}
        self._multi: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        self._stop = frozenset(stoplist)
        for idx, term in enumerate(self.terms):
            for atoms in parse_term(term):
                ids = tuple(self._atom(a) for a in atoms)
                if len(ids) == 1:
                    self._single.setdefault(ids[0], []).append(idx)
                else:
                    self._multi.setdefault(ids[0], []).append((idx, ids[1:]))
        self._plens = sorted({len(k) for k in self._prefix})
        self._slens = sorted({len(k) for k in self._suffix})
        self._ilens = sorted({len(k) for k in self._infix})
        self._cache: dict[str, tuple[int, ...]] = {}

    def _atom(self, atom: str) -> int:
        if atom == "~":
            return GAP
        if atom in self._atom_ids:
            return self._atom_ids[atom]
        aid = len(self._atom_ids)
        self._atom_ids[atom] = aid
        if atom == "#":
            self._number_atom = aid
        elif atom.startswith("*") and atom.endswith("*"):
            self._infix.setdefault(atom[1:-1], []).append(aid)
        elif atom.startswith("*"):
            self._suffix.setdefault(atom[1:], []).append(aid)
        elif atom.endswith("*"):
            self._prefix.setdefault(atom[:-1], []).append(aid)
        else:
            self._exact.setdefault(atom, []).append(aid)
        return aid

    def atoms_of(self, word: str) -> tuple[int, ...]:
        """Atom ids a word matches (cached: the vocabulary of news is small)."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        found: list[int] = list(self._exact.get(word, ()))
        if word not in self._stop:
            n = len(word)
            for ln in self._plens:
                if ln > n:
                    break
                found.extend(self._prefix.get(word[:ln], ()))
            for ln in self._slens:
                if ln > n:
                    break
                found.extend(self._suffix.get(word[n - ln:], ()))
            for ln in self._ilens:
                if ln > n:
                    break
                for i in range(n - ln + 1):
                    got = self._infix.get(word[i: i + ln])
                    if got:
                        found.extend(got)
        if self._number_atom >= 0 and _NUMBER.fullmatch(word):
            found.append(self._number_atom)
        result = tuple(sorted(set(found)))
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[word] = result
        return result

    def find(self, toks: Sequence[Token], text_low: str = "") -> list[tuple[int, int, int]]:
        """(term index, first token, last token) of every match in one sentence's tokens.

        ``text_low`` (the lower-cased text the tokens index) enables joined hyphen compounds.
        """
        atoms = [self.atoms_of(t.text) for t in toks]
        out: list[tuple[int, int, int]] = []
        single, multi = self._single, self._multi
        for i, ids in enumerate(atoms):
            for a in ids:
                for idx in single.get(a, ()):
                    out.append((idx, i, i))
                for idx, rest in multi.get(a, ()):
                    end = self._walk(atoms, i + 1, rest)
                    if end >= 0:
                        out.append((idx, i, end))
            tok = toks[i]
            if tok.joined_end > 0 and text_low:
                joined = text_low[tok.start: tok.joined_end].replace("-", "").translate(_FOLD)
                last = i
                while last + 1 < len(toks) and toks[last + 1].end <= tok.joined_end:
                    last += 1
                seen: set[tuple[int, int, int]] = set()
                for a in self.atoms_of(joined):
                    for idx in single.get(a, ()):
                        if (idx, i, last) not in seen:
                            seen.add((idx, i, last))
                            out.append((idx, i, last))
        return out

    def _walk(self, atoms: list[tuple[int, ...]], j: int, rest: tuple[int, ...]) -> int:
        """Index of the last token if ``rest`` matches from token ``j``, else -1."""
        if not rest:
            return j - 1
        head = rest[0]
        if head == GAP:
            for skip in range(_MAX_GAP + 1):
                end = self._walk(atoms, j + skip, rest[1:])
                if end >= 0:
                    return end
            return -1
        if j < len(atoms) and head in atoms[j]:
            return self._walk(atoms, j + 1, rest[1:])
        return -1
