"""Watchlist names: variants match as whole words, near-misses never do."""

from __future__ import annotations

import pytest

from newsletter.exceptions import ConfigError
from newsletter.watchlist import Watchlist, validate_watchlist

WL = Watchlist.from_config(["TikTok", "ByteDance", {"name": "Meta", "aliases": ["Facebook", "Instagram"]}])


@pytest.mark.parametrize("text,names", [
    ("TikTok", ("TikTok",)),
    ("tiktok und TIKTOK", ("TikTok",)),
    ("Tik Tok", ("TikTok",)),
    ("Tik-Tok", ("TikTok",)),
    ("Die Zukunft TikToks", ("TikTok",)),
    ("TikTok's owner", ("TikTok",)),
    ("TikTok\u2019s owner", ("TikTok",)),
    ("das TikTok-Verbot", ("TikTok",)),
    ("Bytedance", ("ByteDance",)),
    ("ByteDance", ("ByteDance",)),
    ("Byte Dance", ("ByteDance",)),
    ("Bytedance-Mitarbeiter", ("ByteDance",)),
    ("Facebook and Instagram", ("Meta",)),
    ("Facebooks Mutterkonzern", ("Meta",)),
    ("ByteDance owns TikTok", ("TikTok", "ByteDance")),  # watchlist order
])
def test_variants_match(text: str, names: tuple[str, ...]) -> None:
    assert WL.match(text, "") == names
    assert WL.match("", text) == names


@pytest.mark.parametrize("text", [
    "Tiktoker",  # a TikTok creator: a person, not the company (documented decision)
    "TikTokerin",
    "ByteDancer",
    "stick tok",
    "tiktoking",
    "Metaverse",
    "Facebooker",
    "Byte",
])
def test_near_misses_do_not_match(text: str) -> None:
    assert WL.match(text, "") == ()


def test_entities_and_soft_hyphens_normalised() -> None:
    assert WL.match("Tik\u00adTok&#8217;s rise", "") == ("TikTok",)


def test_empty_watchlist() -> None:
    assert Watchlist.from_config([]).match("TikTok", "") == ()
    assert Watchlist.from_config(None).names == ()


@pytest.mark.parametrize("raw,field", [
    ("TikTok", "watchlist"),
    ([""], "watchlist[0]"),
    (["TikTok", 3], "watchlist[1]"),
    ([{"aliases": ["x"]}], "watchlist[0].name"),
    ([{"name": "X", "alias": ["x"]}], "watchlist[0].alias"),
    ([{"name": "X", "aliases": "x"}], "watchlist[0].aliases"),
    ([{"name": "X", "aliases": ["ok", ""]}], "watchlist[0].aliases[1]"),
    (["!!"], "watchlist[0]"),
])
def test_validation_names_the_field(raw: object, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_watchlist(raw)
    assert err.value.field == field
