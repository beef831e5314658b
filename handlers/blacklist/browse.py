"""The black list a page at a time, newest first, and a search by some of a number's digits."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ACCOUNT_FLAG
from bot.phones import digits_of, parse_phone
from bot.services.blacklist import BlackList
from bot.ui import NOT_COMMAND, send_to_chat, show_in_place
from handlers.blacklist.data import PAGE_SIZE, PARTIAL_NUMBER, BlackSearch, BlMenu, BlPage
from handlers.blacklist.views import Shown, list_view
from handlers.common import Menu

router = Router(name="blacklist.browse")


async def render_list(
    black: BlackList, region: str, page: BlPage, lead: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    items, has_prev, has_next = await black.page(page.q, page.d, page.at, PAGE_SIZE)
    start, total = await black.position(page.q, items[0].id) if items else (0, 0)
    return list_view(Shown(items, has_prev, has_next, start, total), region, page, lead)


@router.callback_query(BlPage.filter(F.d.in_({"n", "p"})), flags={ACCOUNT_FLAG: True})
async def turn_page(
    query: CallbackQuery,
    callback_data: BlPage,
    black: BlackList,
    region: str,
) -> None:
    await show_in_place(query, *await render_list(black, region, callback_data))


@router.callback_query(Menu.filter(F.action == "black"), flags={ACCOUNT_FLAG: True})
async def from_home(query: CallbackQuery, state: FSMContext, black: BlackList, region: str) -> None:
    await state.clear()
    await show_in_place(query, *await render_list(black, region, BlPage(d="n", at=0)))


@router.callback_query(BlMenu.filter(F.a == "list"), flags={ACCOUNT_FLAG: True})
async def menu_list(query: CallbackQuery, black: BlackList, region: str) -> None:
    """The list as a new message, so the message with the button (a summary) stays."""
    await send_to_chat(query, *await render_list(black, region, BlPage(d="n", at=0)))


@router.callback_query(BlMenu.filter(F.a == "search"))
async def menu_search(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BlackSearch.query)
    await send_to_chat(query, _("Send the number, or some of its digits, to search for."))


@router.message(BlackSearch.query, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_search(
    message: Message,
    state: FSMContext,
    black: BlackList,
    region: str,
) -> None:
    text = (message.text or "").strip()
    phone = parse_phone(text, region)
    if phone is not None:
        query = phone.digits
    elif PARTIAL_NUMBER.fullmatch(text) and 3 <= len(digits_of(text)) <= 15:
        query = digits_of(text)
    else:
        await message.answer(_("Send at least 3 digits of the number to search for, or /cancel."))
        return
    await state.clear()
    body, markup = await render_list(black, region, BlPage(d="n", at=0, q=query))
    await message.answer(body, reply_markup=markup)
