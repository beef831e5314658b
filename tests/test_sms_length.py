"""SMS length of a template's text (issue 13): GSM-7 160 / 153 a part, UCS-2 70 / 67 a part."""

from __future__ import annotations

import pytest

from bot.text import sms_length


@pytest.mark.parametrize(
    ("text", "units", "parts", "unicode"),
    [
        ("a" * 160, 160, 1, False),
        ("a" * 161, 161, 2, False),
        ("a" * 306, 306, 2, False),
        ("a" * 307, 307, 3, False),
        ("{" * 80, 160, 1, False),  # extension characters take two septets
        ("€" * 81, 162, 2, False),
        ("я" * 70, 70, 1, True),
        ("я" * 71, 71, 2, True),
        ("я" * 134, 134, 2, True),
        ("я" * 135, 135, 3, True),
        ("Hi 👋", 5, 1, True),  # an emoji is two UTF-16 units
    ],
)
def test_sms_length(text: str, units: int, parts: int, unicode: bool) -> None:
    size = sms_length(text)
    assert (size.units, size.parts, size.unicode) == (units, parts, unicode)
