"""Phone numbers as users type, paste, share or forward them: parsed with ``phonenumbers`` in the
account's country, sent to SMSC as digits, shown back in international format."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberMatcher

from bot.smsc.sites import Site

DEFAULT_REGION: Final = "RU"
# Longer than any number written with spaces and brackets; longer text is not "a number".
MAX_NUMBER_TEXT: Final = 40
MAX_DIGITS: Final = 15

_NUMBER_CHARS = re.compile(r"^[\d\s+()\-.]+$")
_SEPARATORS = re.compile(r"[\n\r,;\t]+")
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Phone:
    """A valid number: ``digits`` as SMSC takes it (E.164 without +), ``display`` for people."""

    digits: str
    display: str


@dataclass(frozen=True, slots=True)
class ParsedList:
    """Numbers found in a list: valid ones (each once, in order) and the pieces that were not."""

    phones: list[Phone]
    invalid: list[str]


def region_for_site(site: str) -> str:
    """The country a number without a country code belongs to on this SMSC site."""
    try:
        return Site(site).region
    except ValueError:
        # The demo account and anything unknown: SMSC's home country.
        return DEFAULT_REGION


def _valid(number: phonenumbers.PhoneNumber) -> Phone | None:
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Phone(
        e164.lstrip("+"), phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    )


def digits_of(text: str) -> str:
    """The digits of a number as typed or stored, which is how SMSC matches numbers."""
    # isdecimal, as \d matches: "²" and "①" pass isdigit() but are not digits of a number.
    return "".join(ch for ch in text if ch.isdecimal())


def _digit_count(text: str) -> int:
    return len(_DIGITS.findall(text))


def parse_phone(text: str, region: str) -> Phone | None:
    """One number written with digits, spaces, brackets, dashes or a +; None when not valid."""
    text = text.strip()
    if not text or len(text) > MAX_NUMBER_TEXT or not _NUMBER_CHARS.match(text):
        return None
    if _digit_count(text) > MAX_DIGITS:
        return None
    try:
        return _valid(phonenumbers.parse(text, region))
    except NumberParseException:
        return None


def parse_shared(phone_number: str, region: str) -> Phone | None:
    """A Telegram contact's number: international, though Telegram often leaves out the +."""
    text = phone_number.strip()
    if text and not text.startswith("+") and text.isdigit():
        found = parse_phone("+" + text, region)
        if found is not None:
            return found
    return parse_phone(text, region)


def find_phones(text: str, region: str) -> list[Phone]:
    """Every valid number inside free text (a forwarded message), each once."""
    found: dict[str, Phone] = {}
    for match in PhoneNumberMatcher(text, region):
        phone = _valid(match.number)
        if phone is not None:
            found.setdefault(phone.digits, phone)
    return list(found.values())


def pick_phone(text: str, region: str) -> Phone | None:
    """The number a reply means: the whole text, or the only number inside it."""
    phone = parse_phone(text, region)
    if phone is not None:
        return phone
    found = find_phones(text, region)
    return found[0] if len(found) == 1 else None


def split_phone_prefix(text: str, region: str) -> tuple[Phone | None, str]:
    """``"+7 999 123-45-67 Ivan Petrov"`` → the number and ``"Ivan Petrov"``.

    The longest run of leading words that makes a valid number wins; without one, the first word
    is taken as the (invalid) number so the caller can quote it.
    """
    words = text.split()
    for end in range(len(words), 0, -1):
        head = " ".join(words[:end])
        if not _NUMBER_CHARS.match(head):
            continue
        phone = parse_phone(head, region)
        if phone is not None:
            return phone, " ".join(words[end:])
    return None, " ".join(words[1:])


def display_stored(digits: str, region: str) -> str:
    """A number as SMSC stores it (digits) in international format, or as it is if not valid."""
    text = digits.strip()
    if text.isdigit():
        phone = parse_phone("+" + text, region) or parse_phone(text, region)
        if phone is not None:
            return phone.display
    return text


def _split_run(words: list[str], region: str) -> Iterator[Phone | str]:
    """Numbers written one after another with spaces: the longest valid run of words wins."""
    start = 0
    while start < len(words):
        # Only runs short enough to be one number are tried, so a long line stays linear.
        limit, digits = start, 0
        while limit < len(words) and digits + _digit_count(words[limit]) <= MAX_DIGITS:
            digits += _digit_count(words[limit])
            limit += 1
        for end in range(limit, start, -1):
            phone = parse_phone(" ".join(words[start:end]), region)
            if phone is not None:
                yield phone
                start = end
                break
        else:
            yield words[start]
            start += 1


def _chunk(chunk: str, region: str) -> Iterator[Phone | str]:
    chunk = chunk.strip()
    if not chunk:
        return
    if _NUMBER_CHARS.match(chunk):
        if _digit_count(chunk) <= MAX_DIGITS:
            yield parse_phone(chunk, region) or chunk
        else:
            yield from _split_run(chunk.split(), region)
        return
    found = find_phones(chunk, region)
    if found:
        yield from found
    elif _DIGITS.search(chunk):
        yield chunk
    # A piece without any digit (a word, a header) is not an attempt at a number.


def _collect(items: Iterable[Phone | str]) -> ParsedList:
    phones: dict[str, Phone] = {}
    invalid: dict[str, None] = {}
    for item in items:
        if isinstance(item, Phone):
            phones.setdefault(item.digits, item)
        else:
            invalid.setdefault(item)
    return ParsedList(list(phones.values()), list(invalid))


def parse_list(text: str, region: str) -> ParsedList:
    """Numbers one per line or separated by commas or semicolons (spaces too, when unambiguous)."""
    return _collect(item for chunk in _SEPARATORS.split(text) for item in _chunk(chunk, region))


def decode_text(content: bytes) -> str:
    """A text file from a phone or a spreadsheet: UTF-8 (with or without BOM), else Windows-1251."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1251", errors="replace")


def parse_csv(text: str, region: str) -> ParsedList:
    """A CSV export: per row, the first cell that is a valid number; rows without digits (headers)
    are skipped, rows with digits but no valid number are reported."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel

    def rows() -> Iterator[Phone | str]:
        # newline="": the csv module splits rows itself, including at a bare \r (old Mac files).
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            cells = [cell.strip() for cell in row if cell.strip()]
            phone = next(
                (p for p in (parse_phone(cell, region) for cell in cells) if p is not None), None
            )
            if phone is not None:
                yield phone
                continue
            attempt = next((cell for cell in cells if _DIGITS.search(cell)), None)
            if attempt is not None:
                yield attempt

    try:
        return _collect(rows())
    except csv.Error:
        # A field beyond the csv module's size limit: no spreadsheet export, so read it as a list.
        return parse_list(text, region)


def parse_file(filename: str, content: bytes, region: str) -> ParsedList:
    text = decode_text(content)
    if filename.lower().endswith(".csv"):
        return parse_csv(text, region)
    return parse_list(text, region)
