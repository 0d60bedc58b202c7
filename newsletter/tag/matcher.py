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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress, count, repeat
from operator import add, itemgetter
from typing import Any, Callable, Iterable, Iterator, Sequence

# A word, captured: ``split`` gives the gaps and the words, alternating.
_TOKEN_SPLIT = re.compile(r"([^\W_]+(?:'[^\W_]+)*)")
_NUMBER = re.compile(r"\d+(?:s|er|ern)?")
_GROUP = re.compile(r"\(([^()]*)\)(\?)?")
_ATOM = re.compile(r"^(?:#|~|\*?[^\W_]+(?:'[^\W_]+)*\*?)$")
GAP = -1  # atom id of ``~``
# Umlauts folded for matching, so a German plural with umlaut matches its singular's
# prefix ("Fingerabdruck*" -> "Fingerabdrücke") and "Strasse" equals "Straße".
# Folding is length-preserving, so offsets into the folded text are offsets into the original.
_COMPOUND = re.compile(r"(?<![^\W_])[^\W_]+(?:-[^\W_]+)+")
# a hyphen between two word characters; the pattern opens with the hyphen, which the regex
# engine finds as fast as str.find (searching for _COMPOUND itself tried every position)
_INNER_HYPHEN = re.compile(r"-(?<=[^\W_]-)(?=[^\W_])")


def fold(text: str) -> str:
    """Lower-cased, umlauts folded, same length as ``text`` (offsets stay valid)."""
    low = text.lower()
    if len(low) != len(text):  # e.g. "İ" lower-cases to two characters
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    if not low.isascii():  # str.replace is much faster than translate on non-ASCII text
        low = low.replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "s")
    return low


@dataclass(frozen=True, slots=True)
class Scan:
    """Word offsets of one text and every term match in it."""

    starts: list[int]  # character offset of each word
    matches: list[tuple[int, int, int]]  # (term index, first word, last word)
    words: list[str]  # each word folded (``words_of``)

    def end(self, i: int) -> int:
        """Where word ``i`` ends (folding keeps lengths, so the folded word measures it);
        asked for the few words of the evidence, not kept for every word."""
        return self.starts[i] + len(self.words[i])
_MAX_GAP = 3
# Sentence ends: punctuation followed by space, or a line break. Abbreviations are
# filtered in ``sentence_starts``. The pattern opens with one character class, which the
# regex engine searches for quickly (a branch at the top, or a whitespace run before the
# line break, made it try at every character). After a line break the first branch
# matches (the lookbehind sees it); after punctuation, the second, whose groups are the
# closing quotes and the whitespace.
_SENT_END = re.compile(r"[\n.!?\u2026](?:(?<=\n)\s*|[.!?\u2026]*([\"')\]]*)(\s+))")
_ABBREV = frozenset(
    "dr mr mrs ms prof st nr no vs bzw ca vgl usw inc ltd co corp jr sr gov sen rep "
    "abs art mio mrd bspw evtl ggf inkl jh sog z b d h u a s o".split()
)


def words_of(text: str) -> list[str]:
    """The words of ``text`` folded, as ``TermMatcher.scan`` sees them."""
    return _tokens(fold(text))[0]


# ASCII letters, digits and the apostrophe stay; every other ASCII character is a gap (a
# byte table: bytes.translate is a plain table lookup, three times str.translate's speed)
_ASCII_GAPS = bytes(c if c < 128 and (chr(c).isalnum() or chr(c) == "'") else 32
                    for c in range(256))


def _tokens(low: str) -> tuple[list[str], list[int]]:
    """The words of a folded text (``_TOKEN_SPLIT``'s) with their start offsets.

    ASCII text, nine items in ten once folded, goes through C string methods: gaps become
    spaces and ``split(" ")`` gives the words, and empty strings for the other gap characters,
    so that piece k starts at the summed lengths before it plus k. That is half the time of the
    regex, the tagger's most expensive line. Only words with an apostrophe, where the regex
    decides ("it's" is a word, "'quoted'" is not), are split again by it."""
    if not low.isascii():
        parts = _TOKEN_SPLIT.split(low)  # words and gaps alternating
        offsets = list(accumulate(map(len, parts), initial=0))
        return parts[1::2], offsets[1:-2:2]
    pieces = low.encode("ascii").translate(_ASCII_GAPS).decode("ascii").split(" ")
    words = list(filter(None, pieces))
    starts = list(compress(map(add, accumulate(map(len, pieces), initial=0), count()), pieces))
    if "'" in low:
        for k in reversed(list(compress(range(len(words)),
                                        map(str.__contains__, words, repeat("'"))))):
            parts = _TOKEN_SPLIT.split(words[k])
            offsets = list(accumulate(map(len, parts), initial=starts[k]))
            words[k: k + 1] = parts[1::2]
            starts[k: k + 1] = offsets[1:-2:2]
    return words, starts


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


@lru_cache(maxsize=16_384)  # the taxonomy check and the matcher's compile parse the same terms
def parse_term(pattern: str) -> tuple[tuple[str, ...], ...]:
    """Expanded variants of a term, each a tuple of atoms; ValueError if malformed."""
    variants = []
    for variant in expand(fold(pattern.strip())):
        if any(c in variant for c in "()|?"):
            raise ValueError(f"unbalanced group in term {pattern!r}")
        # the same possessive stripping as for text: "children's" is the word "children"
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
    return tuple(variants)


def sentence_starts(text: str) -> list[int]:
    """Where each sentence or line after the first starts; a dot after an abbreviation
    does not end one. Only sentences with some text count."""
    starts = []
    start = 0
    for m in _SENT_END.finditer(text):
        closers, space = m.groups()
        at = m.start()
        punct = None if space is None else text[at: m.start(1)]
        if punct is not None and "\n" not in space:
            nxt = text[m.end(): m.end() + 1]
            if not (nxt.isupper() or nxt.isdigit() or nxt and nxt in "\"'(["):
                continue
            if punct == "." and not closers:
                ws = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1
                bare = text[ws: at].lower().strip("\"'(")
                if len(bare) <= 1 or bare in _ABBREV or "." in bare:
                    continue
        # the sentence that ends here has some text: the next one starts after this end
        if start and at > start and (punct is not None or not text[start: at].isspace()):
            starts.append(start)
        start = m.end()
    if start and start < len(text) and not text[start:].isspace():
        starts.append(start)
    return starts


_EMPTY: frozenset[int] = frozenset()
_GAP_ONLY = frozenset((GAP,))
_WordInfo = tuple  # (frozenset of atom ids, single-term ids, multi-term entries, gapped)
_NO_MATCH: _WordInfo = (_EMPTY, (), {}, ())  # what most words match: nothing
_atoms_of_info = itemgetter(0)


class _AtomCache(dict[str, _WordInfo]):
    """word -> what it matches, computed on first sight: news vocabulary is small."""

    def __init__(self, compute: Callable[[str], Any]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, word: str) -> _WordInfo:
        value = self._compute(word)
        self[word] = value
        return value


def _compounds(low: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """``_COMPOUND.finditer(low)``, found from the hyphens: ``starts`` are the offsets of
    ``low``'s words (``_tokens``). Hyphens come left to right, so the first one not inside
    a compound found already is a compound's first; its run starts with the word before
    it, after that word's last apostrophe ("it's-x" joins "s-x", as the pattern does)."""
    end = 0
    for h in _INNER_HYPHEN.finditer(low):
        at = h.start()
        if at < end:
            continue
        word = starts[bisect_right(starts, at - 1) - 1]
        m = _COMPOUND.match(low, low.rfind("'", word, at) + 1 or word)
        if m:  # always: a hyphen between word characters is inside a compound
            end = m.end()
            yield m


class TermMatcher:
    """Finds every occurrence of many terms in a token list; compile once, use for all items."""

    def __init__(self, terms: Sequence[str], stoplist: Iterable[str] = ()) -> None:
        stoplist = [fold(w) for w in stoplist]
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
        self._cache: _AtomCache = _AtomCache(self._info)
        self._usa = self._cache["usa"]

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

    def _info(self, word: str) -> _WordInfo:
        """(atom ids, single-word terms, multi-word terms starting here) of a folded word,
        or ``_NO_MATCH`` when it matches nothing; computed once per distinct word via the cache."""
        if word.endswith("'s"):
            return self._cache[word[:-2]]
        atoms = self._atoms_of(word)
        if not atoms:
            return _NO_MATCH
        singles = tuple(i for a in atoms for i in self._single.get(a, ()))
        # multi-word terms starting here, keyed by their second atom: a text word then only
        # probes the atoms of the next word instead of testing every such term ("data ...")
        by_next: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        for a in atoms:
            for e in self._multi.get(a, ()):
                by_next.setdefault(e[1][0], []).append(e)
        # a gap term is walked only where the item has all its other words somewhere: most
        # start with a function word ("mit ~ teilen", "in ~ ermittlungen")
        gapped = tuple((idx, rest, frozenset(rest) - _GAP_ONLY)
                       for idx, rest in by_next.pop(GAP, ()))
        # past the second word: what remains to walk (empty for two-word terms)
        multis = {k: tuple((idx, rest[1:]) for idx, rest in v) for k, v in by_next.items()}
        return (frozenset(atoms), singles, multis, gapped)

    def _atoms_of(self, word: str) -> tuple[int, ...]:
        """Atom ids a (folded) word matches."""
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
        return tuple(sorted(set(found)))

    def scan(self, text: str) -> Scan:
        """Every match in ``text`` (normalised, any case). Multi-word matches may cross
        sentence ends; the caller drops those. Python-level work is per matching word only."""
        low = fold(text)
        words, starts = _tokens(low)
        cache = self._cache
        if len(cache) > 200_000:
            cache.clear()
        infos = list(map(cache.__getitem__, words))  # _NO_MATCH for most words
        if self._usa[0] and "us" in words:  # "US" is the country, "us" the pronoun
            for i in compress(range(len(words)), [w == "us" for w in words]):
                if text[starts[i]: starts[i] + 2] == "US":
                    infos[i] = self._usa
        atoms = list(map(_atoms_of_info, infos))
        out: list[tuple[int, int, int]] = []
        present: frozenset[int] | None = None  # every atom of the item, on demand
        n = len(atoms)
        walk = self._walk
        last = n - 1
        for i in compress(range(n), atoms):  # plain loops: comprehensions cost a call each
            info = infos[i]
            for idx in info[1]:
                out.append((idx, i, i))
            multis = info[2]
            if multis and i < last:
                for a in atoms[i + 1]:  # the next word's atoms: usually one to three
                    es = multis.get(a)
                    if es:
                        for idx, rest in es:
                            end = walk(atoms, i + 2, rest) if rest else i + 1
                            if end >= 0:
                                out.append((idx, i, end))
            for idx, rest, need in info[3]:
                if present is None:
                    present = _EMPTY.union(*atoms)
                if need <= present:
                    end = walk(atoms, i + 1, rest)
                    if end >= 0:
                        out.append((idx, i, end))
        if "-" in low:  # hyphen compounds, tried joined: "Daten-Leck" is "datenleck"
            for m in _compounds(low, starts):
                info = cache[m.group().replace("-", "")]
                if not info[0]:
                    continue
                first = bisect_left(starts, m.start())
                last = bisect_left(starts, m.end()) - 1
                for idx in info[1]:
                    out.append((idx, first, last))
        return Scan(starts, out, words)

    def _walk(self, atoms: list[frozenset[int]], j: int, rest: tuple[int, ...]) -> int:
        """Index of the last token if ``rest`` matches from token ``j``, else -1."""
        n = len(atoms)
        for k, head in enumerate(rest):
            if head == GAP:
                nxt = rest[k + 1]  # a term never ends with a gap
                tail = rest[k + 2:]
                if nxt == GAP:
                    for skip in range(_MAX_GAP + 1):
                        end = self._walk(atoms, j + skip, rest[k + 1:])
                        if end >= 0:
                            return end
                    return -1
                # probe the few words the gap may cover for the word after it (no recursion
                # unless it is there: most gap terms fail here)
                for jj in range(j, min(j + _MAX_GAP, n - 1) + 1):
                    if nxt in atoms[jj]:
                        if not tail:
                            return jj
                        end = self._walk(atoms, jj + 1, tail)
                        if end >= 0:
                            return end
                return -1
            if j >= n or head not in atoms[j]:
                return -1
            j += 1
        return j - 1
