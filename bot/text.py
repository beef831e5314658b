"""Text as Telegram counts it: UTF-16 lengths, HTML-safe clipping, characters unsafe to show.

Free of aiogram, so handlers, services and the Bot API request middleware share one definition.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

# Telegram's limits, in UTF-16 code units of the visible text (an emoji outside the BMP is 2).
TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_ANSWER_LIMIT: Final = 200
# Callback data is counted in bytes of UTF-8.
CALLBACK_DATA_LIMIT: Final = 64
ELLIPSIS: Final = "…"

# Bidi embeddings, overrides and isolates, the implicit marks (LRM, RLM, ALM), zero-width space
# and joiners, word joiner and BOM: invisible, and able to reorder or hide what follows.
_INVISIBLE = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u2060\ufeff"
)
_ZWJ = "\u200d"
# What clean() may change: most texts hold none of it and are returned as they are.
_RISKY = "\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060\u2066-\u2069\ufeff"
_RISKY_LINE = re.compile(f"[\x00-\x1f{_RISKY}]")
_RISKY_TEXT = re.compile(f"[\x00-\x09\x0b-\x1f{_RISKY}]")
_NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _emoji_side(ch: str) -> bool:
    # Symbols, variation selector 16 and skin tones: what an emoji ZWJ sequence is built from.
    return unicodedata.category(ch) == "So" or ch == "\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def clean(text: str, *, multiline: bool = False) -> str:
    """``text`` without bidi controls, zero-width characters and C0/C1 controls.

    A zero-width joiner inside an emoji sequence stays. Line breaks stay with ``multiline``;
    otherwise they, and tabs, become spaces.
    """
    if (_RISKY_TEXT if multiline else _RISKY_LINE).search(text) is None:
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        if ch == _ZWJ:
            after = text[i + 1 : i + 2]
            if out and _emoji_side(out[-1]) and after and _emoji_side(after):
                out.append(ch)
            continue
        if ch == "\n" and multiline:
            out.append(ch)
        elif ch in "\t\n\r\x0b\x0c":
            out.append(" ")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029":
            continue
        else:
            out.append(ch)
    return "".join(out)


def units_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def clip(text: str, limit: int) -> str:
    """Plain ``text`` cut to ``limit`` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    return text[: units_prefix(text, limit - 1)] + ELLIPSIS


def _tag_end(text: str, start: int) -> int:
    """Index after the ``>`` closing the tag at ``start`` (quoted ``>`` skipped), or -1."""
    quote = ""
    for i in range(start + 1, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == ">":
            return i + 1
    return -1


def _tag_name(tag: str) -> str:
    match = re.match(r"</?\s*([A-Za-z][\w-]*)", tag)
    return match.group(1).lower() if match else ""


def visible_len(html: str) -> int:
    """UTF-16 length of what Telegram shows for ``html`` (tags left out, entities as one)."""
    return _scan(html, None)[1]


def clip_html(html: str, limit: int) -> str:
    """HTML cut so its visible text fits ``limit`` units: never inside a tag or an entity, every
    open tag closed, an ellipsis where it was cut. Text that fits comes back unchanged."""
    if utf16_len(html) <= limit or visible_len(html) <= limit:
        return html
    return _scan(html, limit - 1)[0]


def _scan(html: str, budget: int | None) -> tuple[str, int]:
    """Walk ``html``; with a ``budget``, the clipped HTML. Returns (html, visible units)."""
    stack: list[str] = []
    used = 0
    i = 0
    n = len(html)
    while i < n:
        ch = html[i]
        if ch == "<":
            end = _tag_end(html, i)
            if end != -1:
                tag = html[i:end]
                name = _tag_name(tag)
                if tag.startswith("</"):
                    if name in stack:
                        del stack[len(stack) - 1 - stack[::-1].index(name) :]
                elif name:
                    stack.append(name)
                i = end
                continue
            token, width = ch, 1
        elif ch == "&":
            match = _ENTITY.match(html, i)
            if match and (match.group(1)[0] == "#" or match.group(1) in _NAMED_ENTITIES):
                token = match.group(0)
                width = (
                    2 if match.group(1)[0] == "#" and _entity_code(match.group(1)) > 0xFFFF else 1
                )
            else:
                token, width = ch, 1
        else:
            token, width = ch, 2 if ord(ch) > 0xFFFF else 1
        if budget is not None and used + width > budget:
            closing = "".join(f"</{name}>" for name in reversed(stack))
            return html[:i] + ELLIPSIS + closing, used + 1
        used += width
        i += len(token)
    return html, used


def _entity_code(name: str) -> int:
    try:
        return int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
    except ValueError:
        return 0


# GSM 03.38: the basic set (1 septet each) and the extension table (2 septets: escape + char).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    """How long a text is as SMS: its length in the encoding's units and the parts it takes."""

    units: int
    parts: int
    unicode: bool

    @property
    def per_part(self) -> int:
        """Units in each part of a long message (one SMS holds a little more: 160 or 70)."""
        return 67 if self.unicode else 153


def sms_length(text: str) -> SmsLength:
    """GSM-7 when every character is in its table (160 a single SMS, 153 a part), else UCS-2 (70,
    67 a part, in UTF-16 units)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, part, unicode = 160, 153, False
    else:
        units = utf16_len(text)
        single, part, unicode = 70, 67, True
    parts = 1 if units <= single else -(-units // part)
    return SmsLength(units, parts, unicode)
