"""Texts, keyboards and report layout of /stats."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import fmt_date
from bot.periods import Period, PeriodProblem, Preset
from bot.smsc.models import StatItem
from bot.text import clip, utf16_len
from bot.ui import MESSAGE_LIMIT, Totals, amounts_text, button, esc, keyboard
from handlers.stats.data import StPick

# A shortened table leaves room for its header, the "more in the file" line and the totals.
SHORT_BODY: Final = 3000
# A login echoed back is cut to this: /stats takes any word, and SMSC logins are far shorter.
LOGIN_ECHO: Final = 64


def preset_label(preset: Preset) -> str:
    # Spelled out so the catalog extractor sees every string.
    labels = {
        Preset.TODAY: _("Today"),
        Preset.YESTERDAY: _("Yesterday"),
        Preset.WEEK: _("This week"),
        Preset.MONTH: _("This month"),
        Preset.LAST_MONTH: _("Last month"),
    }
    return labels[preset]


@dataclass
class Report:
    text: str
    markup: InlineKeyboardMarkup | None = None
    csv_name: str = ""
    csv_rows: list[list[str]] = field(default_factory=list)

    def csv_file(self) -> BufferedInputFile | None:
        if not self.csv_rows:
            return None
        buffer = io.StringIO()
        csv.writer(buffer).writerows(self.csv_rows)
        # With a BOM, spreadsheet apps read the UTF-8 (Cyrillic names, operators) correctly.
        return BufferedInputFile(buffer.getvalue().encode("utf-8-sig"), self.csv_name)


def period_label(period: Period) -> str:
    if period.start == period.end:
        return fmt_date(period.start)
    return f"{fmt_date(period.start)} – {fmt_date(period.end)}"


def legend() -> str:
    """What "spent" and "credited" mean, so the two are never taken for each other."""
    return esc(
        _(
            "Spent: money paid for messages (SMSC's “credit”). "
            "Credited: money put on the balance, such as top-ups (SMSC's “debit”)."
        )
    )


def total_lines(totals: dict[str, Totals]) -> list[str]:
    return [
        _("<b>Total</b>: {amounts}").format(amounts=esc(amounts_text(t, currency)))
        for currency, t in sorted(totals.items())
    ]


def csv_name(kind: str, period: Period) -> str:
    return f"{kind}_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}.csv"


def fit(header: list[str], body: list[str], footer: list[str]) -> tuple[str, bool]:
    """The whole text when it fits one message, else as much of the body as fits and True."""
    full = "\n".join([*header, *body, "", *footer])
    if utf16_len(full) <= MESSAGE_LIMIT:
        return full, False
    kept: list[str] = []
    size = 0
    for line in body:
        if size + len(line) + 1 > SHORT_BODY:
            break
        kept.append(line)
        size += len(line) + 1
    more = len(body) - len(kept)
    note = ngettext(
        "… and {n} more line: the whole table is in the file below.",
        "… and {n} more lines: the whole table is in the file below.",
        more,
    ).format(n=more)
    return "\n".join([*header, *kept, esc(note), "", *footer]), True


def money_cell(amount: Decimal) -> str:
    return f"{amount:.2f}"


def item_title(item: StatItem) -> str:
    where = item.operator
    if item.mccmnc:
        where = f"{where} ({item.mccmnc})" if where else item.mccmnc
    return " · ".join(part for part in (where, item.description) if part) or "—"


def picker_markup(ref: str) -> InlineKeyboardMarkup:
    return keyboard([button(preset_label(p), StPick(preset=p.value, ref=ref)) for p in Preset])


def picker_text(login: str | None) -> str:
    who = (
        _("Statistics of <b>{login}</b>.").format(login=esc(clip(login, LOGIN_ECHO)))
        if login
        else _("Statistics of every subclient.")
    )
    return (
        who
        + "\n"
        + _(
            "Choose the period, or send it as dd.mm.yyyy-dd.mm.yyyy (for example {example})."
        ).format(example=esc(f"01.{date.today():%m.%Y}-{date.today():%d.%m.%Y}"))
    )


def period_problem_text(problem: PeriodProblem) -> str:
    if problem is PeriodProblem.NO_SUCH_DAY:
        return _("There is no such day in the calendar. Check the dates and send them again.")
    if problem is PeriodProblem.REVERSED:
        return _("The period ends before it starts. Send the earlier date first.")
    if problem is PeriodProblem.FUTURE:
        return _("The period starts in the future: there are no statistics for it yet.")
    if problem is PeriodProblem.TOO_EARLY:
        return _("SMSC has no statistics from before 2000. Check the year.")
    return _("Send the period as dd.mm.yyyy-dd.mm.yyyy, for example 01.05.2025-31.05.2025.")
