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


def _variant_pattern(spelling: str) -> str:
    """Regex for one spelling: case-free, optional space/hyphen at camel-case joints."""
    words = normalize_text(spelling).split()
    parts = []
    for word in words:
        pieces = [re.escape(p) for p in _CAMEL.split(word) if p]
        parts.append(r"[\s\-]?".join(pieces))
    return r"[\s\-]+".join(parts)


@dataclass(frozen=True)
class Watchlist:
    """Compiled watchlist: one regex for all names, linear in the text."""

    names: tuple[str, ...]  # canonical names, as the user wrote them
    _regex: re.Pattern[str] | None
    _group_name: tuple[str, ...]  # regex group index - 1 -> canonical name

    @classmethod
    def from_config(cls, entries: Iterable[Any] | None) -> "Watchlist":
        """From the config's ``watchlist:`` list (strings or {name, aliases})."""
        raw = list(entries or [])
        validate_watchlist(raw)
        names: list[str] = []
        groups: list[str] = []
        alts: list[str] = []
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
        if not alts:
            return cls((), None, ())
        regex = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")" + _SUFFIX + r"(?!\w)",
                           re.IGNORECASE)
        return cls(tuple(dict.fromkeys(names)), regex, tuple(groups))

    def match(self, title: str, text: str) -> tuple[str, ...]:
        """Canonical names mentioned in the title or text, in watchlist order."""
        if self._regex is None:
            return ()
        found: set[str] = set()
        for part in (title, text):
            if not part:
                continue
            for m in self._regex.finditer(normalize_text(part)):
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
