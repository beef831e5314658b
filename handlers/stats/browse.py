"""/stats [login] [period], the period buttons and a typed period, and the buttons under a
report: every subclient, one subclient's operators, another period."""

from __future__ import annotations

import re
from datetime import date

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.errors import StaleButton
from bot.middlewares import ACCOUNT_FLAG
from bot.periods import PeriodError, PeriodProblem, Preset, parse_period, preset_period
from bot.services.subclients import login_ref, resolve_ref
from bot.smsc import SmscClient
from bot.ui import StAsk, button, chat_of, esc, keyboard, message_of, not_command, show_in_place
from handlers.common import Menu, home_button, with_home
from handlers.stats.data import StatsForm, StOps, StPick, StShow, period_from
from handlers.stats.reports import all_report, deliver, operators_report, report_for
from handlers.stats.views import period_problem_text, picker_markup, picker_text

router = Router(name="stats.browse")

_PERIOD_ARG = re.compile(r"^\d{1,2}\.\d{1,2}")


async def subclient(
    bot: Bot, chat_id: int, ref: str, smsc: SmscClient, accounts: AccountService
) -> str | None:
    """The login behind a button's reference ("" for every subclient); None (answered) when no
    known subclient has it."""
    login = await resolve_ref(ref, smsc, accounts.repo, chat_id)
    if login is None:
        way_on = keyboard([button(_("👥 Subclients"), Menu(action="subclients")), home_button()])
        await bot.send_message(
            chat_id, _("There is no subclient with this login."), reply_markup=way_on
        )
    return login


async def ask_period(
    bot: Bot, chat_id: int, state: FSMContext, login: str | None, home: CallbackQuery | None = None
) -> None:
    ref = login_ref(login) if login else ""
    await state.clear()
    await state.set_state(StatsForm.period)
    await state.update_data(login=login or "")
    text, markup = picker_text(login), with_home(picker_markup(ref))
    if home is not None:
        # From home everything edits the one message in place.
        await show_in_place(home, text, markup)
    else:
        await bot.send_message(chat_id, text, reply_markup=markup)


@router.message(Command("stats"), flags={ACCOUNT_FLAG: True})
async def cmd_stats(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    smsc: SmscClient,
    bot: Bot,
) -> None:
    """/stats, /stats <period>, /stats <login>, /stats <login> <period>: a period is tried
    first, so "/stats месяц" is this month, not a subclient called "месяц"."""
    args = " ".join((command.args or "").split())
    if not args:
        await ask_period(bot, message.chat.id, state, None)
        return
    today = date.today()
    login: str | None = None
    try:
        period = parse_period(args, today)
    except PeriodError as whole:
        login, _space, rest = args.partition(" ")
        if not rest:
            if whole.problem is not PeriodProblem.FORMAT or _PERIOD_ARG.match(login):
                # Dates that do not make a period: say what is wrong with them.
                await message.answer(period_problem_text(whole.problem))
                return
            await ask_period(bot, message.chat.id, state, login)
            return
        try:
            period = parse_period(rest, today)
        except PeriodError as exc:
            if exc.problem is PeriodProblem.FORMAT:
                await message.answer(
                    esc(
                        _("Use /stats, /stats <period>, /stats <login> or /stats <login> <period>.")
                    )
                )
            else:
                await message.answer(period_problem_text(exc.problem))
            return
    await state.clear()
    await deliver(bot, message.chat.id, await report_for(smsc, login, period))


@router.message(StatsForm.period, not_command, flags={ACCOUNT_FLAG: True})
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
    chat_id = chat_of(query)
    login = await subclient(bot, chat_id, callback_data.ref, smsc, accounts)
    if login is None:
        return
    await state.clear()
    period = preset_period(preset, date.today())
    edit = message_of(query)
    await deliver(bot, chat_id, await report_for(smsc, login, period), edit)


@router.callback_query(Menu.filter(F.action == "stats"), flags={ACCOUNT_FLAG: True})
async def stats_from_home(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await ask_period(bot, chat_of(query), state, None, home=query)


@router.callback_query(StAsk.filter(), flags={ACCOUNT_FLAG: True})
async def another_period(
    query: CallbackQuery,
    callback_data: StAsk,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    chat_id = chat_of(query)
    login = await subclient(bot, chat_id, callback_data.ref, smsc, accounts)
    if login is None:
        return
    # A new message: the table above stays readable.
    await ask_period(bot, chat_id, state, login)


@router.callback_query(StShow.filter(), flags={ACCOUNT_FLAG: True})
async def show_all(query: CallbackQuery, callback_data: StShow, smsc: SmscClient, bot: Bot) -> None:
    period = period_from(callback_data.s, callback_data.e)
    chat_id = chat_of(query)
    # Back from a subclient's breakdown: a long table's file was sent with it the first time.
    await deliver(bot, chat_id, await all_report(smsc, period), message_of(query), with_file=False)


@router.callback_query(StOps.filter(), flags={ACCOUNT_FLAG: True})
async def show_operators(
    query: CallbackQuery,
    callback_data: StOps,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    period = period_from(callback_data.s, callback_data.e)
    chat_id = chat_of(query)
    login = await subclient(bot, chat_id, callback_data.ref, smsc, accounts)
    if login is None:
        return
    # In place of the table; its "« All subclients" brings the table back in place.
    reseller = None if callback_data.r < 0 else bool(callback_data.r)
    report = await operators_report(smsc, login, period, reseller=reseller)
    await deliver(bot, chat_id, report, message_of(query))
