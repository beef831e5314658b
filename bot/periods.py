"""Statistics periods: the preset buttons and what people type, in Russian or English.

Typed: ``dd.mm.yyyy-dd.mm.yyyy``, one date, ``d.m`` and ``d.m-d.m`` (this year), a month by name
("ноябрь", "november", "нояб 2025"), "today"/"сегодня", "yesterday"/"вчера", "week"/"неделя",
"last week"/"прошлая неделя", "month"/"месяц", "last month"/"прошлый месяц". Month names come from
Babel's data for both languages, whatever the chat's language.

Decisions: weeks start on Monday; an end date in the future is clamped to today (the statistics
cannot hold anything later), a start date in the future is refused; a reversed range is refused;
a month or a day without a year is the latest one not in the future.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from babel import Locale

# SMSC started in 2003; an earlier date is a typo, and date.min would not survive strftime.
EARLIEST: Final = date(2000, 1, 1)

_DAY = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_RANGE = re.compile(rf"^{_DAY}(?:\s*[-–—]\s*{_DAY})?$")
_SHORT_DAY = r"(\d{1,2})\.(\d{1,2})"
_SHORT_RANGE = re.compile(rf"^{_SHORT_DAY}(?:\s*[-–—]\s*{_SHORT_DAY})?$")
_MONTH = re.compile(r"^([^\W\d_]+)\.?(?:\s+(\d{4}))?$")
# Typed words for the presets and last week, in both languages.
_WORDS: Final = {
    "today": "d",
    "сегодня": "d",
    "yesterday": "y",
    "вчера": "y",
    "week": "w",
    "this week": "w",
    "неделя": "w",
    "эта неделя": "w",
    "за неделю": "w",
    "month": "m",
    "this month": "m",
    "месяц": "m",
    "этот месяц": "m",
    "за месяц": "m",
    "last month": "lm",
    "прошлый месяц": "lm",
    "за прошлый месяц": "lm",
    "last week": "lw",
    "прошлая неделя": "lw",
    "за прошлую неделю": "lw",
}


class Preset(StrEnum):
    """The period buttons; the values go into callback data, so they stay short."""

    TODAY = "d"
    YESTERDAY = "y"
    WEEK = "w"
    MONTH = "m"
    LAST_MONTH = "lm"


class PeriodProblem(StrEnum):
    """Why a typed period was refused."""

    FORMAT = "format"
    NO_SUCH_DAY = "no_such_day"
    TOO_EARLY = "too_early"
    REVERSED = "reversed"
    FUTURE = "future"


class PeriodError(ValueError):
    """A typed period that cannot be used; ``problem`` says why."""

    def __init__(self, problem: PeriodProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Period:
    """Both ends included."""

    start: date
    end: date
    clamped: bool = False  # the typed end was in the future and became today

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def preset_period(preset: Preset, today: date) -> Period:
    """The period a preset button stands for, seen from ``today``."""
    if preset is Preset.TODAY:
        return Period(today, today)
    if preset is Preset.YESTERDAY:
        yesterday = today - timedelta(days=1)
        return Period(yesterday, yesterday)
    if preset is Preset.WEEK:
        return Period(today - timedelta(days=today.weekday()), today)
    if preset is Preset.MONTH:
        return Period(today.replace(day=1), today)
    last_day = today.replace(day=1) - timedelta(days=1)
    return Period(last_day.replace(day=1), last_day)


def _day(day: str, month: str, year: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise PeriodError(PeriodProblem.NO_SUCH_DAY) from None


@functools.cache
def _month_names() -> dict[str, int]:
    """Every spelling of a month Babel knows in Russian and English, folded: wide, abbreviated,
    nominative and genitive ("ноябрь", "ноября", "нояб", "november", "nov")."""
    names: dict[str, int] = {}
    for language in ("ru", "en"):
        months = Locale.parse(language).months
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in months[context][width].items():
                    names[name.casefold().rstrip(".")] = number
    return names


def _month_number(word: str) -> int | None:
    word = word.casefold().rstrip(".")
    names = _month_names()
    if word in names:
        return names[word]
    # "сент", "sept", "ноя": a start of one month's name only.
    if len(word) >= 3:
        found = {n for name, n in names.items() if name.startswith(word)}
        if len(found) == 1:
            return found.pop()
    return None


def _latest(day_of: int, month: int, today: date) -> date:
    """The day in this year, or last year's when this year's is still to come."""
    for year in (today.year, today.year - 1):
        try:
            day = date(year, month, day_of)
        except ValueError:
            raise PeriodError(PeriodProblem.NO_SUCH_DAY) from None
        if day <= today:
            return day
    return day


def _words(text: str, today: date) -> Period | None:
    key = " ".join(text.casefold().split())
    preset = _WORDS.get(key)
    if preset == "lw":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(monday, monday + timedelta(days=6))
    if preset is not None:
        return preset_period(Preset(preset), today)
    match = _MONTH.match(key)
    if match is None:
        return None
    month = _month_number(match.group(1))
    if month is None:
        return None
    year = match.group(2)
    start = date(int(year), month, 1) if year else _latest(1, month, today)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return _checked(start, end, today)


def _checked(start: date, end: date, today: date) -> Period:
    if start < EARLIEST or end < EARLIEST:
        raise PeriodError(PeriodProblem.TOO_EARLY)
    if end < start:
        raise PeriodError(PeriodProblem.REVERSED)
    if start > today:
        raise PeriodError(PeriodProblem.FUTURE)
    if end > today:
        return Period(start, today, clamped=True)
    return Period(start, end)


def parse_period(text: str, today: date) -> Period:
    """A typed period (see the module's docstring); raises PeriodError."""
    text = text.strip()
    named = _words(text, today)
    if named is not None:
        return named
    short = _SHORT_RANGE.match(text)
    if short is not None:
        start = _latest(int(short.group(1)), _month_of(short.group(2)), today)
        if not short.group(3):
            return _checked(start, start, today)
        end = _latest(int(short.group(3)), _month_of(short.group(4)), today)
        if end < start:
            # "20.12-10.01" typed in January: the start was last year.
            start = _latest(start.day, start.month, end - timedelta(days=1))
        return _checked(start, end, today)
    match = _RANGE.match(text)
    if match is None:
        raise PeriodError(PeriodProblem.FORMAT)
    start = _day(*match.group(1, 2, 3))
    end = _day(*match.group(4, 5, 6)) if match.group(4) else start
    return _checked(start, end, today)


def _month_of(text: str) -> int:
    month = int(text)
    if not 1 <= month <= 12:
        raise PeriodError(PeriodProblem.NO_SUCH_DAY)
    return month


def encode_day(day: date) -> int:
    """A date as a short number for callback data (days since 1 January of year 1)."""
    return day.toordinal()


def decode_day(number: int) -> date:
    """The inverse of ``encode_day``; raises ValueError for a number that is no sensible date."""
    # Checked first: date.fromordinal raises OverflowError, not ValueError, past a C int.
    if not EARLIEST.toordinal() <= number <= date.max.toordinal():
        raise ValueError("date out of range")
    day = date.fromordinal(number)
    if day < EARLIEST:
        raise ValueError("date out of range")
    return day
