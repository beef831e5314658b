"""/stats [login]: what each subclient sent, spent and was credited in a period, with a
per-operator breakdown; tables too long for one message also come as a CSV file.

Also home to what the other account features share: SMSC errors answered in place, subclient
references in callback data and the list of known subclients (SMSC has no command for it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.accounts import AUTH_FAILED, AccountService
from bot.errors import StaleButton, smsc_error_text
from bot.i18n import fmt_date, fmt_money, fmt_number
from bot.middlewares import ACCOUNT_FLAG
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
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import StatItem, StatRow
from bot.text import clip, utf16_len
from bot.ui import MESSAGE_LIMIT, esc, rows

router = Router(name="stats")

# How far back the subclient list looks: a subclient shows up in get_stat only for a period it
# existed in, and SMSC documents no limit on the period's length.
LIST_SINCE_YEARS: Final = 5
# Subclient buttons under a table; the rest stay reachable with /stats <login>.
MAX_BUTTONS: Final = 40
# A shortened table leaves room for its header, the "more in the file" line and the totals.
SHORT_BODY: Final = 3000
# A login echoed back is cut to this: /stats takes any word, and SMSC logins are far shorter.
LOGIN_ECHO: Final = 64

# Logins that fit a button as they are; any other login travels as a digest of itself.
_PLAIN_LOGIN = re.compile(r"^[A-Za-z0-9_.@\-]{1,32}$")
_DIGEST_PREFIX = "#"
_PERIOD_ARG = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}")


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


class StatsForm(StatesGroup):
    period = State()


class StPick(CallbackData, prefix="stp"):
    """A period button: for every subclient (``ref`` empty) or for one."""

    preset: str
    ref: str = ""


class StAsk(CallbackData, prefix="sta"):
    """ "Another period": the period buttons again."""

    ref: str = ""


class StShow(CallbackData, prefix="sts"):
    """Every subclient's line for a period (days as ``encode_day`` numbers)."""

    s: int
    e: int


class StOps(CallbackData, prefix="sto"):
    """One subclient's per-operator breakdown for a period.

    ``r``: 1 it has its own balance (asked with reseller=1), 0 it shares the main one, -1 unknown
    (a button from before ``r`` existed): looked up.
    """

    s: int
    e: int
    ref: str
    r: int = -1


def explain(exc: SmscError) -> str:
    """An SMSC error in words (HTML-escaped) for answering in place.

    A rejected login is raised on to the error layer, which also stops using those credentials.
    """
    if exc.code == AUTH_FAILED:
        raise exc
    return esc(smsc_error_text(exc))


# -- subclient references and the list ------------------------------------------------------------


def login_ref(login: str) -> str:
    """What stands for a login in callback data: the login, or a digest when it would not fit."""
    if _PLAIN_LOGIN.match(login):
        return login
    return _DIGEST_PREFIX + hashlib.sha256(login.encode()).hexdigest()[:12]


async def known_subclients(
    smsc: SmscClient, accounts: AccountService, chat_id: int
) -> dict[str, bool | None]:
    """Every subclient we know of, by login: True own balance, False main balance, None unknown.

    get_stat without ``reseller`` lists the subclients sharing the main balance, with it those
    with their own; subclients created through the bot are added even before any activity.
    """
    today = date.today()
    since = date(today.year - LIST_SINCE_YEARS, 1, 1)
    found: dict[str, bool | None] = {}
    for row in await smsc.get_stat(since, today):
        found[row.login] = False
    for row in await smsc.get_stat(since, today, reseller=True):
        found[row.login] = True
    for login in await accounts.repo.list_subclients(chat_id):
        found.setdefault(login, None)
    return dict(sorted(found.items(), key=lambda item: item[0].casefold()))


async def own_balance_logins(smsc: SmscClient) -> set[str]:
    """Logins of the subclients with their own balance: SMSC names them only with reseller=1.

    The same question as ``known_subclients`` asks, so a list just shown answers it from memory.
    """
    today = date.today()
    since = date(today.year - LIST_SINCE_YEARS, 1, 1)
    return {row.login for row in await smsc.get_stat(since, today, reseller=True)}


async def resolve_ref(
    ref: str, smsc: SmscClient, accounts: AccountService, chat_id: int
) -> str | None:
    """The login a reference stands for; None when no known subclient matches a digest."""
    if not ref.startswith(_DIGEST_PREFIX):
        return ref
    for login in await known_subclients(smsc, accounts, chat_id):
        if login_ref(login) == ref:
            return login
    return None


# -- formatting ------------------------------------------------------------------------------------


@dataclass
class Totals:
    sms: int = 0
    spent: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)

    def add(self, sms: int, spent: Decimal, credited: Decimal) -> None:
        self.sms += sms
        self.spent += spent
        self.credited += credited


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


def messages_text(count: int) -> str:
    return ngettext("{n} message", "{n} messages", count).format(n=fmt_number(count))


def amounts_text(totals: Totals, currency: str, *, every_part: bool = True) -> str:
    """Messages, money spent and money credited; without ``every_part`` zeros are left out."""
    parts = []
    if every_part or totals.sms:
        parts.append(messages_text(totals.sms))
    if every_part or totals.spent:
        parts.append(_("spent {amount}").format(amount=fmt_money(totals.spent, currency)))
    if every_part or totals.credited:
        parts.append(_("credited {amount}").format(amount=fmt_money(totals.credited, currency)))
    return ", ".join(parts) or messages_text(0)


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


# -- reports ---------------------------------------------------------------------------------------


def merge_rows(*lists: Sequence[StatRow]) -> list[StatRow]:
    seen: dict[str, StatRow] = {}
    for rows_ in lists:
        for row in rows_:
            seen.setdefault(row.login, row)
    return sorted(seen.values(), key=lambda r: (-r.spent, r.login.casefold()))


async def all_report(smsc: SmscClient, period: Period) -> Report:
    # Subclients sharing the main balance and those with their own come from separate calls.
    own_rows = await smsc.get_stat(period.start, period.end, reseller=True)
    stat_rows = merge_rows(await smsc.get_stat(period.start, period.end), own_rows)
    own = {row.login for row in own_rows}
    header = [_("<b>Subclients, {period}</b>").format(period=esc(period_label(period)))]
    if period.clamped:
        header.append(_("The period ends today: later days have no statistics yet."))
    header.append("")
    choose = [
        InlineKeyboardButton(text=_("Another period"), callback_data=StAsk().pack()),
    ]
    if not stat_rows:
        header.append(_("No subclient has statistics for this period."))
        return Report("\n".join(header), InlineKeyboardMarkup(inline_keyboard=[choose]))
    totals: dict[str, Totals] = {}
    body = []
    table = [["login", "messages", "spent", "credited", "currency"]]
    for row in stat_rows:
        line_totals = Totals(row.sms, row.spent, row.credited)
        totals.setdefault(row.currency, Totals()).add(row.sms, row.spent, row.credited)
        body.append(f"<b>{esc(row.login)}</b>: {esc(amounts_text(line_totals, row.currency))}")
        table.append(
            [row.login, str(row.sms), money_cell(row.spent), money_cell(row.credited), row.currency]
        )
    for currency, t in sorted(totals.items()):
        table.append(["TOTAL", str(t.sms), money_cell(t.spent), money_cell(t.credited), currency])
    text, shortened = fit(
        header,
        body,
        [*total_lines(totals), "", legend(), "", _("Tap a subclient for its operators.")],
    )
    start, end = encode_day(period.start), encode_day(period.end)
    buttons = [
        InlineKeyboardButton(
            text=row.login,
            callback_data=StOps(
                s=start, e=end, ref=login_ref(row.login), r=int(row.login in own)
            ).pack(),
        )
        for row in stat_rows[:MAX_BUTTONS]
    ]
    keyboard = [*rows(buttons, 3), choose]
    report = Report(text, InlineKeyboardMarkup(inline_keyboard=keyboard))
    if shortened:
        report.csv_name, report.csv_rows = csv_name("subclients", period), table
    return report


def item_title(item: StatItem) -> str:
    where = item.operator
    if item.mccmnc:
        where = f"{where} ({item.mccmnc})" if where else item.mccmnc
    return " · ".join(part for part in (where, item.description) if part) or "—"


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


async def deliver(bot: Bot, chat_id: int, report: Report, edit: Message | None = None) -> None:
    """The report as a new message, or in place of ``edit``; the CSV file follows when needed."""
    if edit is not None:
        try:
            await edit.edit_text(report.text, reply_markup=report.markup)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
    else:
        await bot.send_message(chat_id, report.text, reply_markup=report.markup)
    document = report.csv_file()
    if document is not None:
        await bot.send_document(chat_id, document)


# -- choosing the period ---------------------------------------------------------------------------


def picker_markup(ref: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=preset_label(p), callback_data=StPick(preset=p.value, ref=ref).pack()
        )
        for p in Preset
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows(buttons, 2))


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


async def ask_period(
    bot: Bot, chat_id: int, state: FSMContext, login: str | None, edit: Message | None = None
) -> None:
    ref = login_ref(login) if login else ""
    await state.clear()
    await state.set_state(StatsForm.period)
    await state.update_data(login=login or "")
    text, markup = picker_text(login), picker_markup(ref)
    if edit is not None:
        await edit.edit_text(text, reply_markup=markup)
    else:
        await bot.send_message(chat_id, text, reply_markup=markup)


async def report_for(smsc: SmscClient, login: str | None, period: Period) -> Report:
    if login:
        return await operators_report(smsc, login, period)
    return await all_report(smsc, period)


@router.message(Command("stats"), flags={ACCOUNT_FLAG: True})
async def cmd_stats(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    smsc: SmscClient,
    bot: Bot,
) -> None:
    args = (command.args or "").split()
    typed = [a for a in args if _PERIOD_ARG.match(a)]
    logins = [a for a in args if not _PERIOD_ARG.match(a)]
    if len(logins) > 1 or len(typed) > 1:
        await message.answer(
            esc(_("Use /stats, /stats <login> or /stats <login> dd.mm.yyyy-dd.mm.yyyy."))
        )
        return
    login = logins[0] if logins else None
    if not typed:
        await ask_period(bot, message.chat.id, state, login)
        return
    await state.clear()
    try:
        period = parse_period(typed[0], date.today())
    except PeriodError as exc:
        await message.answer(period_problem_text(exc.problem))
        return
    await deliver(bot, message.chat.id, await report_for(smsc, login, period))


@router.message(
    StatsForm.period, lambda m: not (m.text or "").startswith("/"), flags={ACCOUNT_FLAG: True}
)
async def typed_period(message: Message, state: FSMContext, smsc: SmscClient, bot: Bot) -> None:
    try:
        period = parse_period(message.text or "", date.today())
    except PeriodError as exc:
        # The state stays: the next message is another try.
        await message.answer(period_problem_text(exc.problem) + "\n" + _("/cancel to stop."))
        return
    login = str((await state.get_data()).get("login", "")) or None
    await state.clear()
    await deliver(bot, message.chat.id, await report_for(smsc, login, period))


@router.callback_query(StPick.filter(), flags={ACCOUNT_FLAG: True})
async def picked(
    query: CallbackQuery,
    callback_data: StPick,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    try:
        preset = Preset(callback_data.preset)
    except ValueError:
        raise StaleButton("unknown period button") from None
    chat_id = query.message.chat.id if query.message else query.from_user.id
    login = None
    if callback_data.ref:
        login = await resolve_ref(callback_data.ref, smsc, accounts, chat_id)
        if login is None:
            await bot.send_message(chat_id, _("There is no subclient with this login."))
            return
    await state.clear()
    period = preset_period(preset, date.today())
    edit = query.message if isinstance(query.message, Message) else None
    await deliver(bot, chat_id, await report_for(smsc, login, period), edit)


@router.callback_query(StAsk.filter(), flags={ACCOUNT_FLAG: True})
async def another_period(
    query: CallbackQuery,
    callback_data: StAsk,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    login = None
    if callback_data.ref:
        login = await resolve_ref(callback_data.ref, smsc, accounts, chat_id)
        if login is None:
            await bot.send_message(chat_id, _("There is no subclient with this login."))
            return
    # A new message: the table above stays readable.
    await ask_period(bot, chat_id, state, login)


def period_from(s: int, e: int) -> Period:
    try:
        start, end = decode_day(s), decode_day(e)
        return Period(start, min(end, date.today()))
    except ValueError:
        raise StaleButton("malformed period button") from None


@router.callback_query(StShow.filter(), flags={ACCOUNT_FLAG: True})
async def show_all(query: CallbackQuery, callback_data: StShow, smsc: SmscClient, bot: Bot) -> None:
    period = period_from(callback_data.s, callback_data.e)
    chat_id = query.message.chat.id if query.message else query.from_user.id
    edit = query.message if isinstance(query.message, Message) else None
    await deliver(bot, chat_id, await all_report(smsc, period), edit)


@router.callback_query(StOps.filter(), flags={ACCOUNT_FLAG: True})
async def show_operators(
    query: CallbackQuery,
    callback_data: StOps,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    period = period_from(callback_data.s, callback_data.e)
    chat_id = query.message.chat.id if query.message else query.from_user.id
    login = await resolve_ref(callback_data.ref, smsc, accounts, chat_id)
    if login is None:
        await bot.send_message(chat_id, _("There is no subclient with this login."))
        return
    # A new message, so the whole table stays on screen to tap the next subclient.
    reseller = None if callback_data.r < 0 else bool(callback_data.r)
    report = await operators_report(smsc, login, period, reseller=reseller)
    await deliver(bot, chat_id, report)
