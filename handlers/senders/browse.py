"""The list of sender names and a name's card with its status at each operator."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.middlewares import ACCOUNT_FLAG
from bot.smsc import SmscClient
from bot.ui import answer_or_show
from bot.ui import show_in_place as show
from handlers.common import Menu
from handlers.senders.data import SnCard, SnList
from handlers.senders.views import card_view, gone_view, list_view

router = Router(name="senders.browse")


@router.message(Command("senders"), flags={ACCOUNT_FLAG: True})
@router.callback_query(Menu.filter(F.action == "senders"), flags={ACCOUNT_FLAG: True})
async def cmd_senders(event: Message | CallbackQuery, state: FSMContext, smsc: SmscClient) -> None:
    await state.clear()
    await answer_or_show(event, *list_view(await smsc.get_senders(), 0))


@router.callback_query(SnList.filter(), flags={ACCOUNT_FLAG: True})
async def list_page(query: CallbackQuery, callback_data: SnList, smsc: SmscClient) -> None:
    await show(query, *list_view(await smsc.get_senders(), callback_data.page))


async def load_card(smsc: SmscClient, sender_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The name's card, or that it no longer exists."""
    sender = next((s for s in await smsc.get_senders() if s.id == sender_id), None)
    if sender is None:
        return gone_view()
    operators = next((o for o in await smsc.get_sender_operators() if o.id == sender_id), None)
    return card_view(sender, operators)


@router.callback_query(SnCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(query: CallbackQuery, callback_data: SnCard, smsc: SmscClient) -> None:
    await show(query, *await load_card(smsc, callback_data.id))
