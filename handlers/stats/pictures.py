"""The buttons under a report that send something to keep: a trend chart (12 months, or this
month by day), bars of spend per subclient or per operator, and the table as CSV or Excel."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.i18n import current_locale
from bot.middlewares import ACCOUNT_FLAG
from bot.services import stats
from bot.services.stats import Trends
from bot.smsc import SmscClient
from bot.storage.accounts import Account
from bot.ui import chat_of
from handlers.stats.data import StChart, StExport, StTrend, period_from
from handlers.stats.reports import report_table, table_rows
from handlers.stats.views import (
    bars_caption,
    csv_file,
    csv_name,
    period_label,
    trend_caption,
    xlsx_file,
)

router = Router(name="stats.pictures")


@router.callback_query(StTrend.filter(), flags={ACCOUNT_FLAG: True})
async def trend(
    query: CallbackQuery,
    callback_data: StTrend,
    smsc: SmscClient,
    account: Account,
    accounts: AccountService,
    trends: Trends,
    bot: Bot,
) -> None:
    key = accounts.identity(account)
    if callback_data.sp == "d":
        series = await trends.days(smsc, key)
    else:
        series = await trends.months(smsc, key)
    png = await stats.trend_chart(series, locale=current_locale(), translate=_)
    await bot.send_photo(
        chat_of(query),
        BufferedInputFile(png, f"trend_{series.span}.png"),
        caption=trend_caption(series),
    )


@router.callback_query(StChart.filter(), flags={ACCOUNT_FLAG: True})
async def chart(query: CallbackQuery, callback_data: StChart, smsc: SmscClient, bot: Bot) -> None:
    period = period_from(callback_data.s, callback_data.e)
    chat_id = chat_of(query)
    if callback_data.k == "o":
        found = await stats.operator_spend(smsc, period)
        title = _("Spent per operator, {period}").format(period=period_label(period))
        bars = [(name, spent) for name, _sms, spent, _cur in found]
        currency = found[0][3] if found else ""
    else:
        lines, _own = await stats.subclient_rows(smsc, period)
        title = _("Spent per subclient, {period}").format(period=period_label(period))
        bars = [(row.login, row.spent) for row in lines if row.spent]
        currency = lines[0].currency if lines else ""
    if not bars:
        await bot.send_message(chat_id, _("Nothing was spent in this period: no chart to draw."))
        return
    png = await stats.bars_chart(title, bars, currency, locale=current_locale())
    await bot.send_photo(
        chat_id,
        BufferedInputFile(png, "spend.png"),
        caption=bars_caption(title, bars, currency),
    )


@router.callback_query(StExport.filter(), flags={ACCOUNT_FLAG: True})
async def export(query: CallbackQuery, callback_data: StExport, smsc: SmscClient, bot: Bot) -> None:
    period = period_from(callback_data.s, callback_data.e)
    own, found, _own_balance = await report_table(smsc, period)
    table = table_rows(own, found)
    name = csv_name("statistics", period)
    if callback_data.f == "x":
        document = xlsx_file(table, name.removesuffix(".csv") + ".xlsx", _("Statistics"))
    else:
        document = csv_file(table, name)
    await bot.send_document(chat_of(query), document)
