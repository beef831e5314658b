"""The list of subclients and a subclient's card with this month's figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import explain
from bot.middlewares import ACCOUNT_FLAG
from bot.services import subclients
from bot.services.subclients import Subclients, login_ref
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import StatRow
from bot.ui import Totals, amounts_text, answer_or_show, esc
from bot.ui import show_in_place as show
from handlers.common import Menu
from handlers.subclients.data import ScCard, ScList
from handlers.subclients.views import back_markup, card_markup, list_view

router = Router(name="subclients.browse")

R = TypeVar("R")


async def login_for(query: CallbackQuery, ref: str, subs: Subclients) -> str | None:
    """The login behind a button; a button for a subclient no longer known gets an answer."""
    login = await subs.resolve(ref)
    if login is None:
        await show(query, _("There is no subclient with this login."), back_markup())
    return login


async def figures_screen(
    query: CallbackQuery,
    ref: str,
    subs: Subclients,
    read: Callable[[SmscClient, str], Awaitable[R]],
    screen: Callable[[str, R], Awaitable[tuple[str, InlineKeyboardMarkup]]],
) -> None:
    """The ``screen`` of what ``read`` finds for the subclient behind a button, in place; a
    subclient that is gone is said instead (SMSC's error 6 too)."""
    login = await login_for(query, ref, subs)
    if login is None:
        return
    try:
        figures = await read(subs.smsc, login)
    except SmscError as exc:
        if exc.code != 6:
            raise
        await show(query, explain(exc), back_markup())
        return
    await show(query, *await screen(login, figures))


@router.message(Command("subclients"), flags={ACCOUNT_FLAG: True})
@router.callback_query(Menu.filter(F.action == "subclients"), flags={ACCOUNT_FLAG: True})
@router.callback_query(ScList.filter(), flags={ACCOUNT_FLAG: True})
async def cmd_subclients(
    event: Message | CallbackQuery,
    state: FSMContext,
    subs: Subclients,
    callback_data: ScList | Menu | None = None,
) -> None:
    """The list: its first page (the command, home) or another (its pager)."""
    # The list leaves any wizard under way (its type step's Back leads here).
    await state.clear()
    page = callback_data.page if isinstance(callback_data, ScList) else 0
    await answer_or_show(event, *list_view(await subs.known_money(), page))


async def card_screen(login: str, row: StatRow | None) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"<b>{esc(login)}</b>", ""]
    if row is None:
        lines.append(_("No statistics this month."))
    else:
        month = Totals(row.sms, row.spent, row.credited)
        lines.append(
            _("This month: {amounts}").format(amounts=esc(amounts_text(month, row.currency)))
        )
    return "\n".join(lines), card_markup(login_ref(login))


@router.callback_query(ScCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(query: CallbackQuery, callback_data: ScCard, subs: Subclients) -> None:
    await figures_screen(query, callback_data.ref, subs, subclients.this_month, card_screen)
