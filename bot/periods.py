"""Statistics periods: the preset buttons and typed ``dd.mm.yyyy-dd.mm.yyyy`` ranges.

Decisions: weeks start on Monday; an end date in the future is clamped to today (the statistics
cannot hold anything later), a start date in the future is refused; a reversed range is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

# SMSC started in 2003; an earlier date is a typo, and date.min would not survive strftime.
EARLIEST: Final = date(2000, 1, 1)

_DAY = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_RANGE = re.compile(rf"^{_DAY}(?:\s*[-–—]\s*{_DAY})?$")


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


def parse_period(text: str, today: date) -> Period:
    """``dd.mm.yyyy-dd.mm.yyyy`` (or one ``dd.mm.yyyy`` for a single day); raises PeriodError."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise PeriodError(PeriodProblem.FORMAT)
    start = _day(*match.group(1, 2, 3))
    end = _day(*match.group(4, 5, 6)) if match.group(4) else start
    if start < EARLIEST or end < EARLIEST:
        raise PeriodError(PeriodProblem.TOO_EARLY)
    if end < start:
        raise PeriodError(PeriodProblem.REVERSED)
    if start > today:
        raise PeriodError(PeriodProblem.FUTURE)
    if end > today:
        return Period(start, today, clamped=True)
    return Period(start, end)


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
