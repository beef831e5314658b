"""HTML parse mode, after tdlib's parse_html (td/telegram/MessageEntity.cpp)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.botapi.errors import BotApiError, JsonDict, _bad_request

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_html_entity(src: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``pos``; tdlib keeps anything it does not recognise as literal text."""
    end = src.find(";", pos + 1)
    if end == -1:
        return None
    name = src[pos + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    try:
        if name[:2] in ("#x", "#X"):
            code = int(name[2:], 16)
        elif name[:1] == "#" and name[1:].isdigit():
            code = int(name[1:])
        else:
            return None
    except ValueError:
        return None
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


def _decode_entities_in(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_html_entity(value, i)) is not None:
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the output text
    inner_language: str | None = None


def parse_html(src: str) -> tuple[str, list[JsonDict]]:
    """Turn Telegram HTML into (visible text, entities), or raise 400 "can't parse entities"."""

    def fail(reason: str) -> BotApiError:
        return _bad_request(f"can't parse entities: {reason}")

    def byte_offset(pos: int) -> int:
        return len(src[:pos].encode())

    out: list[str] = []
    out_len = 0
    stack: list[_OpenTag] = []
    entities: list[JsonDict] = []
    n = len(src)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal out_len
        out.append(chunk)
        out_len += utf16_len(chunk)

    while i < n:
        ch = src[i]
        if ch == "&" and (decoded := _decode_html_entity(src, i)) is not None:
            emit(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            emit(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and src[i] == "/":
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            start = i
            while i < n and not src[i].isspace() and src[i] != ">":
                i += 1
            end_name = src[start:i].lower()
            while i < n and src[i].isspace():
                i += 1
            if i >= n or src[i] != ">":
                raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            i += 1
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise fail(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            _close_tag(tag, stack, entities, out_len)
            continue

        start = i
        while i < n and not src[i].isspace() and src[i] != ">":
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = src[start:i].lower()
        if name not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and not src[i].isspace() and src[i] not in "=>":
                i += 1
            attr = src[attr_start:i].lower()
            if not attr:
                raise fail(
                    f'Empty attribute name in the tag "{name}" at byte offset {byte_offset(begin)}'
                )
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] != "=":
                attrs[attr] = ""
                continue
            i += 1
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] in "\"'":
                quote = src[i]
                close = src.find(quote, i + 1)
                if close == -1:
                    raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attrs[attr] = _decode_entities_in(src[i + 1 : close])
                i = close + 1
            else:
                value_start = i
                while i < n and not src[i].isspace() and src[i] != ">":
                    i += 1
                attrs[attr] = _decode_entities_in(src[value_start:i])
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"')
        stack.append(_OpenTag(name, attrs, out_len))

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    text = "".join(out)
    return _strip_with_entities(text, entities)


def _close_tag(tag: _OpenTag, stack: list[_OpenTag], entities: list[JsonDict], end: int) -> None:
    length = end - tag.offset
    if tag.name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, not two entities.
        cls = tag.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].inner_language = cls.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JsonDict = {"type": _TAG_ENTITY[tag.name], "offset": tag.offset, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.inner_language:
        entity["language"] = tag.inner_language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        if not tag.attrs.get("emoji-id"):
            return
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)


def _strip_with_entities(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Telegram trims surrounding whitespace; entities are shifted and clipped to match."""
    stripped = text.strip()
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, fixed
