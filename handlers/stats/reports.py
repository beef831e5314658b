"""The two reports of /stats, read from SMSC: the account's own figures for a period with every
subclient's line below, and one subclient's per-operator breakdown; the buttons under a report
(charts, exports, another period); and how a report reaches the chat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import explain
from bot.periods import Period, encode_day
from bot.services import stats
from bot.services.subclients import login_ref, own_balance_logins
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import StatRow
from bot.storage.stats import Figures
from bot.text import clip
from bot.ui import StAsk, Totals, amounts_text, button, esc, phone_width, rows
from handlers.common import home_button
from handlers.stats.data import StChart, StExport, StOps, StShow, StTrend
from handlers.stats.views import (
    LOGIN_ECHO,
    Report,
    csv_name,
    fit,
    item_title,
    legend,
    money_cell,
    period_label,
    total_lines,
)

# Subclient buttons under a table; the rest stay reachable with /stats <login>.
MAX_BUTTONS: Final = 40
# No label longer than this on a phone.
BUTTON_LABEL: Final = 24


def report_keyboard(
    period: Period, *, resellers: bool, extra: Sequence[InlineKeyboardButton] = ()
) -> list[list[InlineKeyboardButton]]:
    """Charts, exports, another period and the way home under a report."""
    start, end = encode_day(period.start), encode_day(period.end)
    keyboard = [*rows(extra, phone_width(extra))] if extra else []
    keyboard.append(
        [
            button("📈 " + _("By month"), StTrend(sp="m")),
            button("📈 " + _("By day"), StTrend(sp="d")),
        ]
    )
    if resellers:
        keyboard.append(
            [
                button("📊 " + _("Subclients"), StChart(k="s", s=start, e=end)),
                button("📊 " + _("Operators"), StChart(k="o", s=start, e=end)),
            ]
        )
    keyboard.append(
        [
            button("⬇ CSV", StExport(f="c", s=start, e=end)),
            button("⬇ Excel", StExport(f="x", s=start, e=end)),
        ]
    )
    keyboard.append([button(_("Another period"), StAsk()), home_button()])
    return keyboard


async def report_table(smsc: SmscClient, period: Period) -> tuple[Figures, list[StatRow], set[str]]:
    """The account's own figures and its subclients' lines for the period."""
    own = await stats.own_totals(smsc, period)
    found, own_balance = await stats.subclient_rows(smsc, period)
    return own, found, own_balance


def table_rows(own: Figures, found: Sequence[StatRow]) -> list[list[str]]:
    """The report as a table: the account first, then each subclient, then totals per currency."""
    table = [["login", "messages", "spent", "credited", "currency"]]
    table.append(
        ["(own)", str(own.sms), money_cell(own.spent), money_cell(own.credited), own.currency]
    )
    totals: dict[str, Totals] = {}
    for row in found:
        totals.setdefault(row.currency, Totals()).add(row.sms, row.spent, row.credited)
        table.append(
            [row.login, str(row.sms), money_cell(row.spent), money_cell(row.credited), row.currency]
        )
    for currency, t in sorted(totals.items()):
        table.append(["TOTAL", str(t.sms), money_cell(t.spent), money_cell(t.credited), currency])
    return table


async def all_report(smsc: SmscClient, period: Period) -> Report:
    """The account's own figures for the period and, below, every subclient's line."""
    own, stat_rows, own_balance = await report_table(smsc, period)
    header = [_("<b>Statistics, {period}</b>").format(period=esc(period_label(period)))]
    if period.clamped:
        header.append(_("The period ends today: later days have no statistics yet."))
    header.append("")
    header.append(
        _("<b>Your account</b>: {amounts}").format(
            amounts=esc(amounts_text(Totals(own.sms, own.spent, own.credited), own.currency))
        )
    )
    if not stat_rows:
        text = "\n".join([*header, "", legend()])
        markup = InlineKeyboardMarkup(inline_keyboard=report_keyboard(period, resellers=False))
        return Report(text, markup)
    header += ["", _("<b>Subclients</b>")]
    totals: dict[str, Totals] = {}
    body = []
    for row in stat_rows:
        line_totals = Totals(row.sms, row.spent, row.credited)
        totals.setdefault(row.currency, Totals()).add(row.sms, row.spent, row.credited)
        body.append(f"<b>{esc(row.login)}</b>: {esc(amounts_text(line_totals, row.currency))}")
    text, shortened = fit(
        header,
        body,
        [
            *total_lines(totals, subclients=True),
            "",
            legend(),
            "",
            _("Tap a subclient for its operators."),
        ],
    )
    start, end = encode_day(period.start), encode_day(period.end)
    buttons = [
        button(
            clip(row.login, BUTTON_LABEL),
            StOps(s=start, e=end, ref=login_ref(row.login), r=int(row.login in own_balance)),
        )
        for row in stat_rows[:MAX_BUTTONS]
    ]
    keyboard = report_keyboard(period, resellers=True, extra=buttons)
    report = Report(text, InlineKeyboardMarkup(inline_keyboard=keyboard))
    if shortened:
        report.csv_name, report.csv_rows = (
            csv_name("statistics", period),
            table_rows(own, stat_rows),
        )
    return report


async def operators_report(
    smsc: SmscClient, login: str, period: Period, *, reseller: bool | None = None
) -> Report:
    """One subclient's breakdown; ``reseller`` None: looked up (own balance needs reseller=1)."""
    if reseller is None:
        reseller = login in await own_balance_logins(smsc)
    start, end = encode_day(period.start), encode_day(period.end)
    keyboard = [
        [
            InlineKeyboardButton(
                text="« " + _("All subclients"), callback_data=StShow(s=start, e=end).pack()
            ),
            InlineKeyboardButton(
                text=_("Another period"), callback_data=StAsk(ref=login_ref(login)).pack()
            ),
        ]
    ]
    markup = InlineKeyboardMarkup(inline_keyboard=keyboard)
    header = [
        _("<b>{login}</b>, {period}").format(
            login=esc(clip(login, LOGIN_ECHO)), period=esc(period_label(period))
        )
    ]
    if period.clamped:
        header.append(_("The period ends today: later days have no statistics yet."))
    header.append("")
    try:
        found = await smsc.get_stat_all(period.start, period.end, user=login, reseller=reseller)
    except SmscError as exc:
        if exc.code != 6:
            raise
        return Report(explain(exc), markup)
    items = [item for row in found if row.login in (login, "") for item in row.items] or [
        item for row in found for item in row.items
    ]
    if not items:
        header.append(_("No statistics for this period."))
        return Report("\n".join(header), markup)
    totals: dict[str, Totals] = {}
    body = []
    table = [["operator", "mccmnc", "description", "messages", "spent", "credited", "currency"]]
    for item in items:
        item_totals = Totals(item.sms, item.spent, item.credited)
        totals.setdefault(item.currency, Totals()).add(item.sms, item.spent, item.credited)
        amounts = amounts_text(item_totals, item.currency, every_part=False)
        body.append(f"{esc(item_title(item))}: {esc(amounts)}")
        table.append(
            [
                item.operator,
                item.mccmnc,
                item.description,
                str(item.sms),
                money_cell(item.spent),
                money_cell(item.credited),
                item.currency,
            ]
        )
    for currency, t in sorted(totals.items()):
        table.append(
            ["TOTAL", "", "", str(t.sms), money_cell(t.spent), money_cell(t.credited), currency]
        )
    text, shortened = fit(header, body, [*total_lines(totals), "", legend()])
    report = Report(text, markup)
    if shortened:
        report.csv_name = csv_name(f"{login_ref(login).lstrip('#')}_operators", period)
        report.csv_rows = table
    return report


async def deliver(
    bot: Bot, chat_id: int, report: Report, edit: Message | None = None, *, with_file: bool = True
) -> None:
    """The report as a new message, or in place of ``edit``; the CSV file follows when needed
    (and ``with_file``)."""
    if edit is not None:
        try:
            await edit.edit_text(report.text, reply_markup=report.markup)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
    else:
        await bot.send_message(chat_id, report.text, reply_markup=report.markup)
    document = report.csv_file() if with_file else None
    if document is not None:
        await bot.send_document(chat_id, document)


async def report_for(smsc: SmscClient, login: str | None, period: Period) -> Report:
    if login:
        return await operators_report(smsc, login, period)
    return await all_report(smsc, period)
