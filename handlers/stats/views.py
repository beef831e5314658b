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

from bot.i18n import fmt_moment, fmt_money, fmt_range
from bot.periods import Period, PeriodProblem, Preset
from bot.services.stats import Trend
from bot.smsc.models import MessageStatus, SentMessage, StatItem
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
        return csv_file(self.csv_rows, self.csv_name)


def period_label(period: Period) -> str:
    """ "2 дек. 2026 г.", "1–2 дек. 2026 г.", "Nov 28 – Dec 2, 2026": Babel's intervals."""
    return fmt_range(period.start, period.end)


def legend() -> str:
    """What "spent" and "credited" mean, so the two are never taken for each other."""
    return esc(
        _(
            "Spent: money paid for messages (SMSC's “credit”). "
            "Credited: money put on the balance, such as top-ups (SMSC's “debit”)."
        )
    )


def _short_range(today: date) -> str:
    """This month so far as people type it: "1.12-2.12"."""
    return f"1.{today.month}-{today.day}.{today.month}"


def total_lines(totals: dict[str, Totals], *, subclients: bool = False) -> list[str]:
    """A total per currency; ``subclients``: under the subclients of a report that shows the
    account's own figures above them, so the total says whose it is."""
    line = _("<b>All subclients</b>: {amounts}") if subclients else _("<b>Total</b>: {amounts}")
    return [
        line.format(amounts=esc(amounts_text(t, currency)))
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
    # The MCC/MNC code means nothing to a person: shown only when SMSC names no operator.
    where = item.operator or item.mccmnc
    return " · ".join(part for part in (where, item.description) if part) or "—"


def picker_markup(ref: str) -> InlineKeyboardMarkup:
    return keyboard([button(preset_label(p), StPick(preset=p.value, ref=ref)) for p in Preset])


def picker_text(login: str | None) -> str:
    who = (
        _("Statistics of <b>{login}</b>.").format(login=esc(clip(login, LOGIN_ECHO)))
        if login
        else _("Statistics of your account (and of its subclients, if it has any).")
    )
    return (
        who
        + "\n"
        + _(
            "Choose the period, or send it: a month (“November”), “last week”, a date or "
            "dates such as {example}."
        ).format(example=esc(_short_range(date.today())))
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
    return _(
        "This is not a period I know. Send a month (“November”, “November 2025”), “last "
        "month”, “week”, “yesterday”, a date (1.11) or dates (1.11-15.11, 01.05.2025-31.05.2025)."
    )


def xlsx_file(table: list[list[str]], name: str, title: str) -> BufferedInputFile:
    """The table as an Excel workbook: numbers as numbers, money with two decimals."""
    # openpyxl is imported on the first export only: the bot's memory at start stays as it was.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for index, row in enumerate(table):
        cells: list[object] = []
        for value in row:
            cells.append(_cell(value) if index else value)
        sheet.append(cells)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    for letter, width in zip("ABCDEFG", (24, 12, 14, 14, 10, 14, 10), strict=False):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return BufferedInputFile(buffer.getvalue(), name)


def _cell(value: str) -> object:
    # ASCII only: str.isdigit() is also true of "²" and "①", which int() refuses.
    if value.isascii() and value.isdigit():
        return int(value)
    plain = value.replace(".", "", 1).lstrip("-")
    if value.count(".") == 1 and plain.isascii() and plain.isdigit():
        return Decimal(value)
    return value


def csv_file(table: list[list[str]], name: str) -> BufferedInputFile:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    # With a BOM, spreadsheet apps read the UTF-8 (Cyrillic names, operators) correctly.
    return BufferedInputFile(buffer.getvalue().encode("utf-8-sig"), name)


def trend_caption(trend: Trend) -> str:
    """The key numbers under a trend chart."""
    currency = trend.currency
    total = trend.total
    last = trend.points[-1] if trend.points else None
    if trend.span == "month":
        head = _("<b>The last 12 months</b>: {amounts}")
        now = _("This month: {amounts}")
    else:
        head = _("<b>This month, day by day</b>: {amounts}")
        now = _("Today: {amounts}")
    lines = [
        head.format(
            amounts=esc(amounts_text(Totals(total.sms, total.spent), currency, every_part=False))
        )
    ]
    if last is not None:
        lines.append(
            now.format(
                amounts=esc(amounts_text(Totals(last.sms, last.spent), currency, every_part=False))
            )
        )
    return "\n".join(lines)


def bars_caption(title: str, rows: list[tuple[str, Decimal]], currency: str) -> str:
    total = sum((amount for _name, amount in rows), Decimal(0))
    lines = [
        f"<b>{esc(title)}</b>",
        _("Spent in all: {amount}").format(amount=esc(fmt_money(total, currency))),
    ]
    for name, amount in rows[:3]:
        lines.append(f"{esc(clip(name, LOGIN_ECHO))}: {esc(fmt_money(amount, currency))}")
    return "\n".join(lines)


def status_words(code: int) -> str:
    """A delivery status code in words (SMSC's status page)."""
    words = {
        MessageStatus.NOT_FOUND: _("not found"),
        MessageStatus.STOPPED: _("stopped"),
        MessageStatus.WAITING: _("waiting to be sent"),
        MessageStatus.SENT: _("handed to the operator"),
        MessageStatus.DELIVERED: _("delivered"),
        MessageStatus.READ: _("read"),
        MessageStatus.EXPIRED: _("expired, not delivered"),
        MessageStatus.CLICKED: _("link opened"),
        MessageStatus.UNDELIVERABLE: _("cannot be delivered"),
        MessageStatus.WRONG_NUMBER: _("wrong number"),
        MessageStatus.PROHIBITED: _("prohibited"),
        MessageStatus.NO_FUNDS: _("not enough money"),
        MessageStatus.UNAVAILABLE: _("number unavailable"),
    }
    try:
        return words[MessageStatus(code)]
    except (ValueError, KeyError):
        return _("status {code}").format(code=code)


# The first line of a message's text is cut to this many characters.
TEXT_PREVIEW: Final = 120


def history_line(message: SentMessage) -> str:
    """Date, sender, status, cost, then the first line of the text."""
    when = message.sent_at
    parts = [fmt_moment(when) if when is not None else "—"]
    if message.sender:
        parts.append(esc(message.sender))
    status = status_words(message.status)
    if message.err and message.status not in (MessageStatus.DELIVERED, MessageStatus.READ):
        status = _("{status} (error {code})").format(status=status, code=message.err)
    parts.append(esc(status))
    # get_messages gives no currency: the cost is the number SMSC wrote.
    parts.append(esc(_("cost {amount}").format(amount=fmt_money(message.cost, ""))))
    lines = (message.message or "").strip().splitlines()
    first = lines[0] if lines else ""
    preview = clip(first, TEXT_PREVIEW)
    if len(lines) > 1 and preview == first:
        preview += " …"
    return " · ".join(parts) + "\n<i>" + esc(preview) + "</i>"
