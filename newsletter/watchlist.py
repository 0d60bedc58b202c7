"""Watchlist alerts: which of the user's names a story mentions (issue 4, item 6).

An entry matches as a whole word, in any case, with the spellings news uses:
"TikTok", "Tiktok", "Tik Tok", "Tik-Tok"; "ByteDance", "Bytedance", "Byte Dance";
the plural/genitive "TikToks", "TikTok's"; a hyphen compound "TikTok-Verbot" (the
hyphen ends the word). It never matches inside another word: "ByteDancer" and
"Tiktoker" (a TikTok creator: a person, not the company) do not match, so an alert
always means the name itself is in the story. An entry may list aliases, e.g.
``{name: Meta, aliases: [Facebook, Instagram]}``; a match of any reports the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .exceptions import ConfigError
from .tag.normalize import normalize_text

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")  # "TikTok" -> "Tik" "Tok"
_SUFFIX = r"(?:'s|'|s|es)?"  # plural and genitive, English and German
_ENTRY_KEYS = ("name", "aliases")


def _pieces(spelling: str) -> list[list[str]]:
    """The spelling's words, each cut at its camel-case joints ("TikTok" -> "Tik", "Tok")."""
    return [[p for p in _CAMEL.split(word) if p] for word in normalize_text(spelling).split()]


def _variant_pattern(spelling: str) -> str:
    """Regex for one spelling: case-free, optional space/hyphen at camel-case joints."""
    return r"[\s\-]+".join(r"[\s\-]?".join(map(re.escape, pieces))
                            for pieces in _pieces(spelling))


# Non-ASCII characters that the regex's case-free matching equates with an ASCII letter
# (dotless i, dotted capital I, long s, the Kelvin sign): where a text has none, an ASCII
# piece of a name can only match as itself, lower-cased.
_ASCII_LOOKALIKES = "\u0131\u0130\u017f\u212a"


def _needle(spelling: str) -> str | None:
    """The longest ASCII piece of a spelling, lower-cased: every match of the spelling
    contains it (in some case). None if it has none (then only the regex can tell)."""
    piece = max((p for word in _pieces(spelling) for p in word if p.isascii()), key=len,
                default="")
    return piece.lower() or None


@dataclass(frozen=True)
class Watchlist:
    """Compiled watchlist: one regex for all names, linear in the text."""

    names: tuple[str, ...]  # canonical names, as the user wrote them
    _regex: re.Pattern[str] | None
    _group_name: tuple[str, ...]  # regex group index - 1 -> canonical name
    # One ASCII piece per spelling (``_needle``), or None if some spelling has none. A text
    # that contains none of them cannot match; ``in`` finds that far faster than the
    # case-free regex, which tries every position (most items name nobody watched).
    _needles: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, entries: Iterable[Any] | None) -> "Watchlist":
        """From the config's ``watchlist:`` list (strings or {name, aliases})."""
        raw = list(entries or [])
        validate_watchlist(raw)
        names: list[str] = []
        groups: list[str] = []
        alts: list[str] = []
        needles: list[str | None] = []
        for entry in raw:
            if isinstance(entry, str):
                name, spellings = entry.strip(), [entry]
            else:
                name = entry["name"].strip()
                spellings = [entry["name"], *entry.get("aliases", [])]
            names.append(name)
            for sp in spellings:
                groups.append(name)
                alts.append(f"({_variant_pattern(sp)})")
                needles.append(_needle(sp))
        if not alts:
            return cls((), None, ())
        regex = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")" + _SUFFIX + r"(?!\w)",
                           re.IGNORECASE)
        return cls(tuple(dict.fromkeys(names)), regex, tuple(groups),
                   None if None in needles else tuple(dict.fromkeys(
                       n for n in needles if n is not None)))

    def _cannot_match(self, text: str) -> bool:
        """True when ``text`` (normalised) surely names nobody on the list."""
        needles = self._needles
        if needles is None:
            return False
        if not text.isascii() and any(c in text for c in _ASCII_LOOKALIKES):
            return False  # a look-alike letter: only the regex can tell
        low = text.lower()
        return not any(n in low for n in needles)

    def match(self, title: str, text: str) -> tuple[str, ...]:
        """Canonical names mentioned in the title or text, in watchlist order."""
        if self._regex is None:
            return ()
        found: set[str] = set()
        for part in (title, text):
            if not part:
                continue
            norm = normalize_text(part)
            if self._cannot_match(norm):
                continue
            for m in self._regex.finditer(norm):
                found.add(self._group_name[(m.lastindex or 1) - 1])
        return tuple(n for n in self.names if n in found)


def _check_name(value: object, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"must be a non-empty name, got {value!r}", field=where)
    if not re.search(r"\w", value):
        raise ConfigError(f"name {value!r} has no letters or digits", field=where)


def validate_watchlist(raw: object) -> None:
    """Check a ``watchlist:`` section; raise ConfigError naming ``watchlist[i]...``."""
    if raw is None:
        return
    if not isinstance(raw, (list, tuple)):
        raise ConfigError("must be a list of names, e.g. [TikTok, ByteDance]", field="watchlist")
    for i, entry in enumerate(raw):
        where = f"watchlist[{i}]"
        if isinstance(entry, str):
            _check_name(entry, where)
            continue
        if not isinstance(entry, dict):
            raise ConfigError("must be a name or a mapping {name: ..., aliases: [...]}",
                              field=where)
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise ConfigError(f"unknown key {key!r}; allowed: name, aliases",
                                  field=f"{where}.{key}")
        if "name" not in entry:
            raise ConfigError("missing 'name'", field=f"{where}.name")
        _check_name(entry["name"], f"{where}.name")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list):
            raise ConfigError("must be a list of names", field=f"{where}.aliases")
        for j, alias in enumerate(aliases):
            _check_name(alias, f"{where}.aliases[{j}]")


def names_of(entries: Sequence[Any]) -> tuple[str, ...]:
    """Canonical names of config entries, without compiling."""
    return tuple(e if isinstance(e, str) else e["name"] for e in entries)
