"""/contacts: the list a page at a time, search, and a contact's card from the list."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ACCOUNT_FLAG
from bot.phones import digits_of, display_stored
from bot.services.phonebook import PhoneBook
from bot.smsc.models import Contact
from bot.text import clip
from bot.ui import (
    NOT_COMMAND,
    button,
    esc,
    keyboard,
    markup_of,
    pager_row,
    send_to_chat,
    show_in_place,
)
from handlers.common import Menu, home_button
from handlers.contacts.data import (
    BUTTON_TEXT,
    PAGE_SIZE,
    ContactSearch,
    CtCard,
    CtGrp,
    CtGrpView,
    CtMenu,
    CtPage,
)
from handlers.contacts.views import card_view, group_label, list_line, page_fits, search_term, title

router = Router(name="contacts.browse")

Page = tuple[list[Contact], CtPage | None, CtPage | None]


async def contacts_page(book: PhoneBook, page: CtPage) -> Page:
    """One page of contacts with the buttons to the pages before and after it, if any.

    ``after_id`` takes the server's ``int_id``; when SMSC's answer has none, the pages are cut
    from one read of up to SCAN_PAGE contacts instead.
    """
    group = page.g or None
    search = page.q or None

    def at(d: str, value: int) -> CtPage:
        return CtPage(d=d, at=value, g=page.g, q=page.q)

    if page.d == "o":
        found = await book.unpaged(group, search)
        start = max(page.at, 0)
        items = found[start : start + PAGE_SIZE]
        previous = at("o", max(start - PAGE_SIZE, 0)) if start > 0 else None
        following = at("o", start + PAGE_SIZE) if len(found) > start + PAGE_SIZE else None
        return items, previous, following
    if page.d == "n":
        found = await book.after(group, search, page.at or None, PAGE_SIZE + 1)
        items = found[:PAGE_SIZE]
        more, earlier = len(found) > PAGE_SIZE, page.at > 0
        if page.at == 0 and more and not (items[-1].int_id if items else None):
            return items, None, at("o", PAGE_SIZE)
    else:
        items, earlier, more = await book.before(group, search, page.at, PAGE_SIZE)
    first, last = (items[0].int_id, items[-1].int_id) if items else (None, None)
    previous = at("p", first) if earlier and first else None
    following = at("n", last) if more and last else None
    return items, previous, following


async def render_list(
    book: PhoneBook, region: str, page: CtPage
) -> tuple[str, InlineKeyboardMarkup]:
    items, previous, following = await contacts_page(book, page)
    if page.g:
        header = _("Contacts in the group <b>{group}</b>:").format(
            group=esc(group_label(page.g, await book.names()))
        )
    elif page.q:
        header = _("Contacts matching <b>{query}</b>:").format(query=esc(page.q))
    else:
        header = _("Your contacts:")
    lines = [header, *(list_line(i, c, region) for i, c in enumerate(items, 1))]
    if not items:
        lines.append(_("Nothing found.") if page.q else _("No contacts here yet."))
    buttons = [
        button(
            clip(title(c) or display_stored(c.phone, region), BUTTON_TEXT),
            CtCard(p=digits_of(c.phone)),
        )
        for c in items
        if c.phone
    ]
    pager = pager_row(previous, following)
    menu = [
        button(_("Search"), CtMenu(a="search")),
        button(_("Add a contact"), CtMenu(a="add")),
    ]
    # The groups live with the contacts: from home, Contacts -> Groups.
    way_on = [button(_("Groups"), Menu(action="groups")), home_button()]
    return "\n".join(lines), keyboard(buttons, 2, *([pager] if pager else []), menu, way_on)


async def answer_search(message: Message, book: PhoneBook, region: str, text: str) -> bool:
    """Show the first page for a search; false (and an explanation) when it cannot be searched."""
    query = search_term(text, region) if text.strip() else ""
    if not page_fits(query):
        await message.answer(
            _("This search text is too long or has a colon in it. Send a shorter one.")
        )
        return False
    body, markup = await render_list(book, region, CtPage(d="n", at=0, q=query))
    await message.answer(body, reply_markup=markup)
    return True


@router.message(Command("contacts"), flags={ACCOUNT_FLAG: True})
async def cmd_contacts(
    message: Message, command: CommandObject, state: FSMContext, book: PhoneBook, region: str
) -> None:
    await state.clear()
    await answer_search(message, book, region, command.args or "")


@router.callback_query(CtPage.filter(F.d.in_({"n", "p", "o"})), flags={ACCOUNT_FLAG: True})
async def turn_page(
    query: CallbackQuery, callback_data: CtPage, book: PhoneBook, region: str
) -> None:
    body, markup = await render_list(book, region, callback_data)
    await show_in_place(query, body, markup)


@router.callback_query(Menu.filter(F.action == "contacts"), flags={ACCOUNT_FLAG: True})
async def from_home(query: CallbackQuery, state: FSMContext, book: PhoneBook, region: str) -> None:
    await state.clear()
    await show_in_place(query, *await render_list(book, region, CtPage(d="n", at=0)))


@router.callback_query(CtMenu.filter(F.a == "search"))
async def menu_search(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(ContactSearch.query)
    await send_to_chat(query, _("Send a name or a number to search for, or /cancel."))


@router.message(ContactSearch.query, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_search(message: Message, state: FSMContext, book: PhoneBook, region: str) -> None:
    if await answer_search(message, book, region, message.text or ""):
        await state.clear()


@router.callback_query(CtCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery, callback_data: CtCard, book: PhoneBook, region: str
) -> None:
    text, markup = await card_view(book, region, callback_data.p)
    if is_groups_view(markup_of(query)):
        # "Back to the card" from the card's own groups view: the same message again.
        await show_in_place(query, text, markup)
    else:
        await send_to_chat(query, text, markup)


def is_groups_view(markup: InlineKeyboardMarkup | None) -> bool:
    """The keyboard is a card's groups view (its buttons are CtGrp and CtGrpView)."""
    prefixes = (CtGrp.__prefix__ + ":", CtGrpView.__prefix__ + ":")
    return markup is not None and any(
        (key.callback_data or "").startswith(prefixes)
        for row in markup.inline_keyboard
        for key in row
    )
