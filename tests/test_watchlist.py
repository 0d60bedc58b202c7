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


def test_quick_rejection_never_changes_a_result() -> None:
    """``match`` skips the regex for a text holding no ASCII piece of any name; random
    texts built from the names' pieces in any case, with the non-ASCII letters the regex
    equates with ASCII ones (dotless i, long s, the Kelvin sign), must match exactly as
    the regex alone does."""
    import dataclasses
    import random

    wl = Watchlist.from_config(["TikTok", {"name": "Meta", "aliases": ["Facebook", "WhatsApp"]},
                                "Clearview AI", "Überwachungs-GmbH", "Überwachung"])
    assert wl._needles is None  # a name with no ASCII piece: every text goes to the regex
    ascii_only = Watchlist.from_config(["TikTok", {"name": "Meta", "aliases": ["Facebook"]},
                                        "Clearview AI", "Kik", "Sis"])
    assert ascii_only._needles is not None
    rnd = random.Random(3)
    bits = ["tik", "Tok", "TIK", "t\u0131k", "T\u0130K", "meta", "META", "face", "Book",
            "clear", "VIEW", "ai", "\u212aik", "\u017fis", "sis", "kik", " ", "-", "'s", "x",
            "\u00fc", "\u00dc", "berwachung", "s-", "gmbh", "\n"]
    for _ in range(20_000):
        text = "".join(rnd.choice(bits) for _ in range(rnd.randrange(1, 8)))
        for w in (wl, ascii_only):
            plain = dataclasses.replace(w, _needles=None)
            assert w.match(text, "") == plain.match(text, ""), repr(text)
    assert ascii_only.match("t\u0131k tok and \u212aik", "") == ("TikTok", "Kik")
