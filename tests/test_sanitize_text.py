"""The plain-text helpers (``html_to_text``, ``plain_line``) against their definition.

``_tidy`` collapses blanks with string methods, each pass guarded by a cheap ``in`` test,
for speed; these tests hold it to the plain regex definition it replaced, on random
strings made of exactly the characters each pass is about.
"""

from __future__ import annotations

import random
import re

from newsletter.sanitize import _tidy, html_to_text, plain_line, strip_controls

_WS = re.compile(r"[ \t\r\f\v]{2,}|[\t\r\f\v]")


def _tidy_reference(text: str) -> str:
    text = strip_controls(text.replace("\u00ad", "").replace("\u00a0", " "))
    lines = [_WS.sub(" ", ln).strip() for ln in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_ALPHABET = " \t\r\f\v\n\n\u00a0\u00adaü\u200b\x1c\u2028\u3000\x85"


def test_tidy_is_the_regex_definition_on_random_blanks() -> None:
    rnd = random.Random(7)
    for _ in range(20_000):
        s = "".join(rnd.choice(_ALPHABET) for _ in range(rnd.randrange(25)))
        assert _tidy(s) == _tidy_reference(s), repr(s)


def test_tidy_examples() -> None:
    assert _tidy("  a \t\t b  \n\n\n\n  c\r\n") == "a b\n\nc"
    assert _tidy("x\u00a0\u00a0y\u00adz") == "x yz"
    assert _tidy("\tone\ttwo\t \tthree") == "one two three"
    assert _tidy("one\vtwo") == "onetwo"  # a control character, not a blank: removed


def test_html_to_text_and_plain_line() -> None:
    assert html_to_text("<p>Data  <b>leak</b>\tat ACME</p><p>Second</p>") == \
        "Data leak at ACME\n\nSecond"
    assert plain_line("<p>One</p>\n\n<p>Two \t three</p>") == "One Two three"
