"""A phone number is a thing: a number sent on its own (typed, pasted, forwarded or a shared
contact) opens its card: in the black list or not and how, block, change the type or unblock,
its contact or "Add as contact", and what was sent to it (statistics' HiPage).

Its router goes before the features: the messages it takes (no conversation under way) would
otherwise reach nobody but the fallback.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ACCOUNT_FLAG, OPERATOR_FLAGS
from bot.phones import digits_of, display_stored, find_phones, parse_phone
from bot.services.audit import audited
from bot.services.blacklist import BlackList
from bot.services.numbers import NumberFacts, look_up
from bot.services.phonebook import PhoneBook
from bot.smsc.models import BlackType
from bot.storage.audit import AuditLog
from bot.text import clip
from bot.ui import Cf, button, chat_of, esc, keyboard, shared_phone, show_in_place

# The card is the black list's and the contacts' way in for one number: it shows the black
# list's words for a type (this module is not a feature package: it may).
from handlers.blacklist.data import MARK
from handlers.blacklist.one import ask_removal, unblock
from handlers.blacklist.views import type_label, type_text
from handlers.common import CtCard, CtNew, HiPage, Nc, home_row
from handlers.confirm import Asked, Tap
from handlers.contacts.views import shared_invalid_text

router = Router(name="number")

# Numbers of one forwarded message offered as cards, at most.
MAX_OFFERS = 5


def card_view(facts: NumberFacts, region: str, lead: str = "") -> tuple[str, InlineKeyboardMarkup]:
    """The number's card; ``lead`` (what was just done) goes above it."""
    digits = facts.digits
    lines = [f"<b>{esc(display_stored(digits, region))}</b>"]
    entry = facts.black
    if entry is None:
        lines.append(_("Black list: not blocked."))
    else:
        lines.append(_("Black list: {what}.").format(what=type_text(entry.type)))
        if entry.comment:
            lines.append(_("Comment: {text}").format(text=esc(clip(entry.comment, 200))))
    contact = facts.contact
    if contact is None:
        lines.append(_("Contacts: not saved."))
    else:
        name = contact.name or " ".join(filter(None, (contact.last_name, contact.first_name)))
        lines.append(
            _("Contact: {name}").format(
                name=f"<b>{esc(clip(name, 64))}</b>" if name else _("no name")
            )
        )
    if entry is None:
        black_rows = [[button("⛔ " + _("Block"), Nc(a="b", p=digits, t=int(BlackType.ALL)))]]
    else:
        black_rows = keyboard(
            [
                *(
                    button(
                        (MARK if kind is entry.type else "") + type_label(kind),
                        Nc(a="b", p=digits, t=int(kind)),
                    )
                    for kind in BlackType
                ),
                button(_("Unblock"), Nc(a="u", p=digits)),
            ]
        ).inline_keyboard
    contact_button = (
        button("👤 " + _("Contact card"), CtCard(p=digits))
        if contact is not None
        else button("👤 " + _("Add as contact"), CtNew(p=digits))
    )
    sent = button("📨 " + _("Sent messages"), HiPage(p=digits))
    markup = InlineKeyboardMarkup(inline_keyboard=[*black_rows, [contact_button, sent], home_row()])
    text = "\n".join(lines)
    return (f"{lead}\n\n{text}" if lead else text), markup


async def answer_card(
    message: Message, black: BlackList, book: PhoneBook, region: str, digits: str
) -> None:
    facts = await look_up(black, book, digits)
    text, markup = card_view(facts, region)
    await message.answer(text, reply_markup=markup)


@router.message(StateFilter(None), F.forward_origin, flags={ACCOUNT_FLAG: True})
async def forwarded(message: Message, black: BlackList, book: PhoneBook, region: str) -> None:
    """A forwarded message: the card of its number, or a button for each of its numbers."""
    phones = find_phones(message.text or message.caption or "", region)
    if not phones:
        await message.answer(_("I found no phone number in this message."))
        return
    if len(phones) == 1:
        await answer_card(message, black, book, region, phones[0].digits)
        return
    buttons = [
        [button(phone.display + " ›", Nc(a="o", p=phone.digits))] for phone in phones[:MAX_OFFERS]
    ]
    await message.answer(
        _("Numbers in this message: tap one to open its card."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons),
    )


@router.message(StateFilter(None), F.contact, flags={ACCOUNT_FLAG: True})
async def shared_contact(
    message: Message, state: FSMContext, black: BlackList, book: PhoneBook, region: str
) -> None:
    """A shared contact: its number's card; its name waits (no state set) for "Add as contact"."""
    phone = await shared_phone(message, region, shared_invalid_text)
    if phone is None:
        return
    assert message.contact is not None
    names = (message.contact.first_name, message.contact.last_name)
    await state.set_data({"phone": phone.digits, "name": " ".join(filter(None, names))})
    await answer_card(message, black, book, region, phone.digits)


# A message that looks like one phone number and nothing else (checked before the account's
# country is known, so only by its characters; the handler parses it).
PHONE_TEXT = re.compile(r"\+?[\d\s().\-]{7,24}")


def looks_like_number(message: Message) -> bool:
    text = (message.text or "").strip()
    return bool(PHONE_TEXT.fullmatch(text)) and 7 <= len(digits_of(text)) <= 15


@router.message(StateFilter(None), F.text, looks_like_number, flags={ACCOUNT_FLAG: True})
async def typed_number(message: Message, black: BlackList, book: PhoneBook, region: str) -> None:
    phone = parse_phone(message.text or "", region)
    if phone is None:
        await message.answer(invalid_text(message.text or ""))
        return
    await answer_card(message, black, book, region, phone.digits)


def invalid_text(text: str) -> str:
    return _(
        "<b>{text}</b> is not a valid phone number. A number looks like this: +7 999 123-45-67."
    ).format(text=esc(clip(text.strip(), 40)))


@router.callback_query(Nc.filter(F.a == "o"), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery, callback_data: Nc, black: BlackList, book: PhoneBook, region: str
) -> None:
    await show_in_place(query, *card_view(await look_up(black, book, callback_data.p), region))


@router.callback_query(
    Nc.filter((F.a == "b") & F.t.in_({int(t) for t in BlackType})), flags=OPERATOR_FLAGS
)
async def block(
    query: CallbackQuery,
    callback_data: Nc,
    black: BlackList,
    book: PhoneBook,
    region: str,
    audit: AuditLog,
) -> None:
    """Block the number, or change its type (adding it again is the one way SMSC knows)."""
    digits, kind = callback_data.p, BlackType(callback_data.t)
    before = await black.find(digits)
    if before is None or before.type is not kind:
        action = "black_add" if before is None else "black_type"
        await audited(
            audit, chat_of(query), query.from_user.id, action, digits, black.add(digits, kind)
        )
    lead = _("Blocked.") if before is None else _("Type changed.")
    await show_in_place(query, *card_view(await look_up(black, book, digits), region, lead))


@router.callback_query(Nc.filter(F.a == "u"), flags=OPERATOR_FLAGS)
async def ask_unblock(query: CallbackQuery, callback_data: Nc, region: str, **data: Any) -> None:
    await ask_removal(query, data, "ncunblock", {"phone": callback_data.p}, region)


@router.callback_query(Cf.filter(), Asked("ncunblock"), flags=OPERATOR_FLAGS)
async def confirm_unblock(
    query: CallbackQuery, black: BlackList, book: PhoneBook, region: str, **data: Any
) -> None:
    tap = Tap.of(query, data)
    digits = tap.asked.payload.get("phone", "")

    async def card(lead: str) -> None:
        await show_in_place(query, *card_view(await look_up(black, book, digits), region, lead))

    async def on_no() -> None:
        await card("")

    if await unblock(tap, black, digits, on_no) is not None:
        await card(_("Unblocked."))
