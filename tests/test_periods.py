"""Statistics periods: presets and typed ranges, with the edge cases users actually type."""

from __future__ import annotations

from datetime import date

import pytest

from bot.periods import (
    Period,
    PeriodError,
    PeriodProblem,
    Preset,
    decode_day,
    encode_day,
    parse_period,
    preset_period,
)

# A Wednesday in March of a leap year.
TODAY = date(2024, 3, 13)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        (Preset.TODAY, date(2024, 3, 13), date(2024, 3, 13)),
        (Preset.YESTERDAY, date(2024, 3, 12), date(2024, 3, 12)),
        (Preset.WEEK, date(2024, 3, 11), date(2024, 3, 13)),
        (Preset.MONTH, date(2024, 3, 1), date(2024, 3, 13)),
        (Preset.LAST_MONTH, date(2024, 2, 1), date(2024, 2, 29)),
    ],
)
def test_presets(preset: Preset, start: date, end: date) -> None:
    assert preset_period(preset, TODAY) == Period(start, end)


def test_week_starts_on_monday_even_on_a_monday_and_a_sunday() -> None:
    monday, sunday = date(2024, 3, 11), date(2024, 3, 17)
    assert preset_period(Preset.WEEK, monday) == Period(monday, monday)
    assert preset_period(Preset.WEEK, sunday) == Period(monday, sunday)


def test_yesterday_and_last_month_cross_a_year() -> None:
    new_year = date(2025, 1, 1)
    assert preset_period(Preset.YESTERDAY, new_year) == Period(
        date(2024, 12, 31), date(2024, 12, 31)
    )
    assert preset_period(Preset.LAST_MONTH, new_year) == Period(
        date(2024, 12, 1), date(2024, 12, 31)
    )


@pytest.mark.parametrize(
    "text",
    [
        "01.02.2024-29.02.2024",
        "1.2.2024 - 29.2.2024",
        "01.02.2024–29.02.2024",
        " 01.02.2024—29.02.2024 ",
    ],
)
def test_typed_range_with_any_dash_and_spacing(text: str) -> None:
    assert parse_period(text, TODAY) == Period(date(2024, 2, 1), date(2024, 2, 29))


def test_one_date_is_one_day() -> None:
    assert parse_period("05.03.2024", TODAY) == Period(date(2024, 3, 5), date(2024, 3, 5))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("31.02.2024-01.03.2024", PeriodProblem.NO_SUCH_DAY),
        ("01.01.2023-29.02.2023", PeriodProblem.NO_SUCH_DAY),  # 2023 is not a leap year
        ("00.01.2024", PeriodProblem.NO_SUCH_DAY),
        ("01.13.2024", PeriodProblem.NO_SUCH_DAY),
        ("10.03.2024-01.03.2024", PeriodProblem.REVERSED),
        ("14.03.2024-20.03.2024", PeriodProblem.FUTURE),
        ("01.01.1999-01.01.2024", PeriodProblem.TOO_EARLY),
        ("2024-03-01", PeriodProblem.FORMAT),
        ("01.03.24-05.03.24", PeriodProblem.FORMAT),
        ("next week", PeriodProblem.FORMAT),
        ("ма", PeriodProblem.FORMAT),  # май or март: too short to tell
        ("32.1", PeriodProblem.NO_SUCH_DAY),
        ("1.13", PeriodProblem.NO_SUCH_DAY),
        ("май 2025 года", PeriodProblem.FORMAT),
        ("April 2024", PeriodProblem.FUTURE),
        ("", PeriodProblem.FORMAT),
        ("01.03.2024-", PeriodProblem.FORMAT),
    ],
)
def test_refused(text: str, problem: PeriodProblem) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, TODAY)
    assert caught.value.problem is problem


def test_leap_day_exists_in_a_leap_year() -> None:
    assert parse_period("29.02.2024", TODAY).start == date(2024, 2, 29)


def test_future_end_is_clamped_to_today() -> None:
    period = parse_period("01.03.2024-31.12.2024", TODAY)
    assert (period.start, period.end, period.clamped) == (date(2024, 3, 1), TODAY, True)
    assert not parse_period("01.03.2024-13.03.2024", TODAY).clamped


def test_a_period_cannot_be_built_reversed() -> None:
    with pytest.raises(ValueError):
        Period(date(2024, 3, 2), date(2024, 3, 1))
    assert Period(TODAY, TODAY).days == 1


def test_day_numbers_round_trip_and_refuse_nonsense() -> None:
    assert decode_day(encode_day(TODAY)) == TODAY
    assert len(str(encode_day(TODAY))) == 6
    with pytest.raises(ValueError):
        decode_day(1)
    with pytest.raises(ValueError):
        decode_day(10**9)
    # Past a C int date.fromordinal raises OverflowError, which handlers do not expect.
    for number in (-(10**20), 2**31, 2**63):
        with pytest.raises(ValueError):
            decode_day(number)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("ноябрь", date(2023, 11, 1), date(2023, 11, 30)),
        ("November", date(2023, 11, 1), date(2023, 11, 30)),
        ("ноября", date(2023, 11, 1), date(2023, 11, 30)),
        ("нояб.", date(2023, 11, 1), date(2023, 11, 30)),
        ("nov 2022", date(2022, 11, 1), date(2022, 11, 30)),
        ("Февраль 2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("sept", date(2023, 9, 1), date(2023, 9, 30)),
        ("прошлый месяц", date(2024, 2, 1), date(2024, 2, 29)),
        ("Last month", date(2024, 2, 1), date(2024, 2, 29)),
        ("неделя", date(2024, 3, 11), date(2024, 3, 13)),
        ("week", date(2024, 3, 11), date(2024, 3, 13)),
        ("last week", date(2024, 3, 4), date(2024, 3, 10)),
        ("прошлая неделя", date(2024, 3, 4), date(2024, 3, 10)),
        ("сегодня", TODAY, TODAY),
        ("today", TODAY, TODAY),
        ("вчера", date(2024, 3, 12), date(2024, 3, 12)),
        ("Yesterday", date(2024, 3, 12), date(2024, 3, 12)),
        ("месяц", date(2024, 3, 1), TODAY),
        ("5.3", date(2024, 3, 5), date(2024, 3, 5)),
        ("1.2–29.2", date(2024, 2, 1), date(2024, 2, 29)),
        ("1.2 - 5.3", date(2024, 2, 1), date(2024, 3, 5)),
        # A day without a year that is still to come this year is last year's.
        ("20.12", date(2023, 12, 20), date(2023, 12, 20)),
        ("20.12-10.1", date(2023, 12, 20), date(2024, 1, 10)),
    ],
)
def test_words_months_and_dates_without_a_year(text: str, start: date, end: date) -> None:
    period = parse_period(text, TODAY)
    assert (period.start, period.end) == (start, end)


def test_this_month_by_name_ends_today() -> None:
    period = parse_period("март", TODAY)
    assert (period.start, period.end, period.clamped) == (date(2024, 3, 1), TODAY, True)
