"""The list of subclients and a subclient's card with this month's figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.errors import explain
from bot.middlewares import ACCOUNT_FLAG
from bot.services import subclients
from bot.services.subclients import login_ref
from bot.smsc import SmscClient, SmscError
from bot.ui import Totals, amounts_text, answer_or_show, chat_of, esc
from bot.ui import show_in_place as show
from handlers.common import Menu
from handlers.subclients.data import ScCard, ScList
from handlers.subclients.views import back_markup, card_markup, list_view

router = Router(name="subclients.browse")

R = TypeVar("R")


async def login_for(
    query: CallbackQuery, ref: str, smsc: SmscClient, accounts: AccountService
) -> str | None:
    """The login behind a button; a button for a subclient no longer known gets an answer."""
    login = await subclients.resolve_ref(ref, smsc, accounts.repo, chat_of(query))
    if login is None:
        await show(query, _("There is no subclient with this login."), back_markup())
    return login


async def figures_for(
    query: CallbackQuery,
    ref: str,
    smsc: SmscClient,
    accounts: AccountService,
    read: Callable[[SmscClient, str], Awaitable[R]],
) -> tuple[str, R] | None:
    """The login behind a button and what ``read`` finds for it; None when the subclient is gone
    (the button is answered here, SMSC's error 6 too)."""
    login = await login_for(query, ref, smsc, accounts)
    if login is None:
        return None
    try:
        return login, await read(smsc, login)
    except SmscError as exc:
        if exc.code != 6:
            raise
        await show(query, explain(exc), back_markup())
        return None


@router.message(Command("subclients"), flags={ACCOUNT_FLAG: True})
@router.callback_query(Menu.filter(F.action == "subclients"), flags={ACCOUNT_FLAG: True})
async def cmd_subclients(
    event: Message | CallbackQuery, state: FSMContext, smsc: SmscClient, accounts: AccountService
) -> None:
    await state.clear()
    found = await subclients.known_money(smsc, accounts.repo, chat_of(event))
    await answer_or_show(event, *list_view(found, 0))


@router.callback_query(ScList.filter(), flags={ACCOUNT_FLAG: True})
async def list_page(
    query: CallbackQuery,
    callback_data: ScList,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
) -> None:
    # The list leaves any wizard under way (its type step's Back leads here).
    await state.clear()
    found = await subclients.known_money(smsc, accounts.repo, chat_of(query))
    await show(query, *list_view(found, callback_data.page))


@router.callback_query(ScCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery, callback_data: ScCard, smsc: SmscClient, accounts: AccountService
) -> None:
    found = await figures_for(query, callback_data.ref, smsc, accounts, subclients.this_month)
    if found is None:
        return
    login, row = found
    lines = [f"<b>{esc(login)}</b>", ""]
    if row is None:
        lines.append(_("No statistics this month."))
    else:
        month = Totals(row.sms, row.spent, row.credited)
        lines.append(
            _("This month: {amounts}").format(amounts=esc(amounts_text(month, row.currency)))
        )
    await show(query, "\n".join(lines), card_markup(login_ref(login)))
