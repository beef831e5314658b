"""Wire format of the SMSC HTTP API: charsets, parameters and the four answer formats (fmt 0–3)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape, quoteattr

Params = dict[str, str]
Scalar = str | int
Row = Mapping[str, Scalar]


@dataclass(frozen=True)
class Charset:
    """A charset as the client names it (echoed in Content-Type) and as Python's codecs name it."""

    label: str
    codec: str


WINDOWS_1251 = Charset("windows-1251", "cp1251")
_CHARSETS = {
    "utf-8": Charset("utf-8", "utf-8"),
    "utf8": Charset("utf-8", "utf-8"),
    "koi8-r": Charset("koi8-r", "koi8_r"),
    "koi8r": Charset("koi8-r", "koi8_r"),
    "windows-1251": WINDOWS_1251,
    "cp1251": WINDOWS_1251,
}


def find_charset(raw_query: str, raw_body: bytes) -> Charset:
    """The charset the request asks for; an unknown or absent one means windows-1251, as on SMSC."""
    # latin-1 maps every byte to one character, so the ASCII name survives whatever the text is.
    pairs = parse_qsl(raw_query, keep_blank_values=True, encoding="latin-1")
    pairs += parse_qsl(raw_body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    label = ""
    for key, value in pairs:
        if key == "charset":
            label = value.strip().lower()
    return _CHARSETS.get(label, WINDOWS_1251)


def decode_params(raw_query: str, raw_body: bytes, charset: Charset) -> Params:
    """Query and body merged, the body winning as PHP's $_REQUEST does; the last repeat wins."""
    params: Params = {}
    for source in (raw_query, raw_body.decode(charset.codec, errors="replace")):
        params.update(
            parse_qsl(source, keep_blank_values=True, encoding=charset.codec, errors="replace")
        )
    return params


def parse_fmt(params: Params) -> int:
    """The asked answer format; anything but 1–3 gives the default 0."""
    value = params.get("fmt", "").strip()
    return int(value) if value in {"1", "2", "3"} else 0


def content_type(fmt: int, charset: Charset) -> str:
    """Content-Type header of an answer in ``fmt``."""
    kind = {2: "text/xml", 3: "application/json"}.get(fmt, "text/plain")
    return f"{kind}; charset={charset.label}"


T = TypeVar("T")


class ApiError(Exception):
    """An SMSC error answer; without a description the script's usual wording is used."""

    def __init__(self, code: int, description: str | None = None) -> None:
        super().__init__(f"error {code}")
        self.code = code
        self.description = description


def found(record: T | None, code: int = 3) -> T:
    """The record a call names; SMSC's "not found" (error ``code``) when there is none."""
    if record is None:
        raise ApiError(code)
    return record


_DESCRIPTIONS = {
    1: "parameters error",
    2: "authorise error",
    3: "no records found",
    4: "IP address temporarily blocked",
    5: "operation error",
    6: "subclient not found",
    7: "invalid parameters for this operation",
    8: "error saving record",
    9: "duplicate request, wait a minute",
    10: "insufficient funds",
    11: "wrong confirmation code",
}
_SCRIPT_DESCRIPTIONS = {
    ("senders", 3): "sender not found",
    ("senders", 5): "error saving or deleting the sender",
    ("senders", 7): "invalid number format",
    ("senders", 8): "the code cannot be delivered to this number",
    ("senders", 10): "code already sent, retry in 8 hours",
    ("templates", 3): "record not found",
    ("users", 7): "the subclient shares the main account's balance",
    ("users", 10): "insufficient funds for crediting",
}


def describe(script: str, code: int) -> str:
    """The usual description of error ``code`` on ``script``."""
    return _SCRIPT_DESCRIPTIONS.get((script, code), _DESCRIPTIONS.get(code, "error"))


@dataclass(frozen=True)
class Answer:
    """One answer prepared in every format, so the request's fmt only picks one."""

    text0: str
    text1: str
    xml: str
    json_value: object

    def render(self, fmt: int) -> str:
        """The answer body as a string in ``fmt``."""
        if fmt == 1:
            return self.text1
        if fmt == 2:
            return self.xml
        if fmt == 3:
            return json.dumps(self.json_value, ensure_ascii=False)
        return self.text0


def error(code: int, description: str) -> Answer:
    """An error answer, in the shape every page shows."""
    xml = (
        f"<result>\n<error>{escape(description)}</error>\n"
        f"<error_code>{code}</error_code>\n</result>"
    )
    return Answer(
        text0=f"ERROR = {code} ({description})",
        text1=f"0,-{code}",
        xml=xml,
        json_value={"error": description, "error_code": code},
    )


def ok() -> Answer:
    """The answer to a change or a deletion."""
    return Answer("OK", "OK", "<result>OK</result>", {"result": "OK"})


def created(new_id: int, xml_tag: str, *, json_key: str = "id", text0_sep: str = "=") -> Answer:
    """The answer to a creation; the pages differ in the XML tag, JSON key and fmt=0 separator."""
    return Answer(
        text0=f"ID {text0_sep} {new_id}",
        text1=str(new_id),
        xml=f"<{xml_tag}>\n<id>{new_id}</id>\n</{xml_tag}>",
        json_value={json_key: new_id},
    )


def table(
    rows: Sequence[Row],
    xml_item: str,
    *,
    text_order: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    xml_text: str | None = None,
) -> Answer:
    """A list answer: ``key = value`` lines, comma lines, ``<list>`` and a JSON array.

    Rows are in JSON key order; ``text_order`` reorders fmt 0–2 where a page orders them otherwise,
    ``labels`` renames fmt=0 keys, and ``xml_text`` makes that field the element's text and the
    others its attributes (senders.php).
    """
    labels = labels or {}
    lines0: list[str] = []
    lines1: list[str] = []
    xml = ["<list>"]
    for row in rows:
        keys = list(text_order or row.keys())
        lines0.append(", ".join(f"{labels.get(k, k)} = {row[k]}" for k in keys))
        lines1.append(",".join(str(row[k]) for k in keys))
        if xml_text is None:
            xml.append(f"<{xml_item}>")
            xml.extend(f"<{k}>{escape(str(row[k]))}</{k}>" for k in keys)
            xml.append(f"</{xml_item}>")
        else:
            attrs = "".join(f" {k}={quoteattr(str(row[k]))}" for k in keys if k != xml_text)
            xml.append(f"<{xml_item}{attrs}>{escape(str(row[xml_text]))}</{xml_item}>")
    xml.append("</list>")
    return Answer("\n".join(lines0), "\n".join(lines1), "\n".join(xml), [dict(r) for r in rows])
