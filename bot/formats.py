"""Babel formatting of money, numbers and dates for an explicit locale, free of aiogram.

``bot.i18n`` formats in the chat's locale through these; charts, drawn on a worker thread and
used by services, pass the locale themselves. One definition of how money looks.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_interval, format_skeleton
from babel.numbers import format_decimal, get_currency_symbol

DEFAULT_LOCALE = "en"


def babel_locale(name: str) -> Locale:
    try:
        return Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def money_in(amount: Decimal, currency: str, locale: str, *, whole: bool = False) -> str:
    """Money in ``locale``, the amount then the currency's sign ("1,234.50 ₽", "1 234,50 ₽"), the
    same in every language; an unknown or empty currency code is a plain number. ``whole``: no
    decimals (axis ticks)."""
    where = babel_locale(locale)
    number = format_decimal(
        amount, format="#,##0;-#,##0" if whole else "#,##0.00;-#,##0.00", locale=where
    )
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        return number
    # Babel's English sign for the rouble is its code ("RUB1,234.50"); people write ₽ in either.
    sign = "₽" if code == "RUB" else get_currency_symbol(code, locale=where)
    return f"{number}\xa0{sign}"


def number_in(value: int | Decimal, locale: str) -> str:
    return format_decimal(value, locale=babel_locale(locale))


def skeleton_in(skeleton: str, day: date, locale: str) -> str:
    """A date by a CLDR skeleton (``yMMM``, ``MMMd``), or a pattern (``LLL``: the month's
    stand-alone abbreviation), in ``locale``."""
    where = babel_locale(locale)
    if skeleton in where.datetime_skeletons:
        return format_skeleton(skeleton, day, locale=where)
    return format_date(day, skeleton, locale=where)


def interval_in(start: date, end: date, locale: str) -> str:
    """A range as people write it: "1–2 дек. 2026 г.", "Nov 28 – Dec 2, 2026"; a day alone."""
    where = babel_locale(locale)
    if start == end:
        return format_skeleton("yMMMd", start, locale=where)
    return format_interval(start, end, "yMMMd", locale=where)
