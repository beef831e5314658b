"""A contact's card: rename, change the number, delete (confirmed), and its groups."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import OPERATOR_FLAGS
from bot.phones import display_stored, parse_shared, pick_phone
from bot.services.audit import audited
from bot.services.phonebook import NAME_LIMIT, PhoneBook, valid_name
from bot.smsc.models import MoveMode
from bot.storage.audit import AuditLog
from bot.ui import (
    NOT_COMMAND,
    Cf,
    button,
    chat_of,
    esc,
    keyboard,
    markup_of,
    send_to_chat,
    show_in_place,
    user_id_of,
)
from handlers.common import home_row
from handlers.confirm import Asked, Tap, ask_confirmation
from handlers.contacts.data import CtAct, CtGrp, CtGrpView, CtPage, EditContact
from handlers.contacts.views import (
    card_view,
    gone_text,
    groups_from_markup,
    groups_keyboard,
    groups_text,
    invalid_number_text,
)

router = Router(name="contacts.card")


@router.callback_query(CtAct.filter(F.a.in_({"rn", "ph"})), flags=OPERATOR_FLAGS)
async def ask_edit(query: CallbackQuery, callback_data: CtAct, state: FSMContext) -> None:
    await state.clear()
    rename = callback_data.a == "rn"
    await state.set_state(EditContact.name if rename else EditContact.phone)
    await state.update_data(phone=callback_data.p)
    await send_to_chat(
        query,
        _("Send the new name for this contact.")
        if rename
        else _("Send the new number for this contact."),
    )


@router.message(EditContact.name, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def got_new_name(
    message: Message, state: FSMContext, book: PhoneBook, region: str, audit: AuditLog
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(_("Send a name of 1 to {n} characters.").format(n=NAME_LIMIT))
        return
    digits: str = (await state.get_data())["phone"]
    await audited(
        audit,
        message.chat.id,
        user_id_of(message),
        "contact_rename",
        digits,
        book.rename(digits, name),
    )
    await state.clear()
    text, markup = await card_view(book, region, digits, lead=_("Renamed."))
    await message.answer(text, reply_markup=markup)


@router.message(EditContact.phone, F.contact, flags=OPERATOR_FLAGS)
@router.message(EditContact.phone, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def got_new_number(
    message: Message, state: FSMContext, book: PhoneBook, region: str, audit: AuditLog
) -> None:
    if message.contact is not None:
        text = message.contact.phone_number
        phone = parse_shared(text, region)
    else:
        text = message.text or ""
        phone = pick_phone(text, region)
    if phone is None:
        await message.answer(invalid_number_text(text))
        return
    old: str = (await state.get_data())["phone"]
    contact = await book.contact(old)
    if contact is None:
        await state.clear()
        await message.answer(gone_text(old, region))
        return
    await audited(
        audit,
        message.chat.id,
        user_id_of(message),
        "contact_number",
        f"{old}->{phone.digits}",
        book.change_number(contact, old, phone.digits),
    )
    await state.clear()
    text, markup = await card_view(book, region, phone.digits, lead=_("Number changed."))
    await message.answer(text, reply_markup=markup)


@router.callback_query(CtAct.filter(F.a == "del"), flags=OPERATOR_FLAGS)
async def ask_delete(query: CallbackQuery, callback_data: CtAct, region: str, **data: Any) -> None:
    number = display_stored(callback_data.p, region)
    await ask_confirmation(
        query,
        data,
        action="ctdel",
        payload={"phone": callback_data.p},
        question=_("Delete the contact {number}?").format(number=esc(number)),
        yes=_("Yes, delete"),
        in_place=True,
    )


@router.callback_query(Cf.filter(), Asked("ctdel"), flags=OPERATOR_FLAGS)
async def confirm_delete(query: CallbackQuery, book: PhoneBook, region: str, **data: Any) -> None:
    tap = Tap.of(query, data)
    digits = tap.asked.payload.get("phone", "")
    number = esc(display_stored(digits, region))

    async def on_no() -> None:
        kept = _("The contact {number} stays.").format(number=number)
        await show_in_place(query, *await card_view(book, region, digits, kept))

    made = await tap.delete(
        lambda: book.delete(digits),
        what="contact_delete",
        target=digits,
        on_no=on_no,
    )
    if made:
        await show_in_place(
            query,
            _("The contact {number} is deleted.").format(number=number),
            keyboard([button("« " + _("All contacts"), CtPage(d="n", at=0))], 1, home_row()),
        )


# -- a contact's groups ----------------------------------------------------------------------


@router.callback_query(CtAct.filter(F.a == "gr"), flags=OPERATOR_FLAGS)
async def open_groups(
    query: CallbackQuery, callback_data: CtAct, book: PhoneBook, region: str
) -> None:
    contact = await book.contact(callback_data.p)
    if contact is None:
        await send_to_chat(query, gone_text(callback_data.p, region))
        return
    groups = [(g.id, g.name, g.id in contact.groups) for g in await book.groups()]
    await show_in_place(
        query,
        groups_text(display_stored(callback_data.p, region), False, not groups),
        groups_keyboard(callback_data.p, groups, move=False),
    )


@router.callback_query(CtGrpView.filter(), flags=OPERATOR_FLAGS)
async def switch_groups_view(query: CallbackQuery, callback_data: CtGrpView, region: str) -> None:
    """Between add/remove and move: redrawn from the keyboard itself, nothing to read."""
    markup = markup_of(query)
    if markup is None:
        return
    groups = groups_from_markup(markup)
    number = display_stored(callback_data.p, region)
    await show_in_place(
        query,
        groups_text(number, callback_data.move, not groups),
        groups_keyboard(callback_data.p, groups, callback_data.move),
    )


@router.callback_query(CtGrp.filter(F.m.in_({1, 2, 3})), flags=OPERATOR_FLAGS)
async def change_groups(
    query: CallbackQuery,
    callback_data: CtGrp,
    book: PhoneBook,
    region: str,
    audit: AuditLog,
) -> None:
    """Apply one group change, then redraw the keyboard from itself: no re-read needed."""
    markup = markup_of(query)
    if markup is None:
        # Too old to see: the keyboard it would be redrawn from is unknown.
        return
    mode = MoveMode(callback_data.m)
    await audited(
        audit,
        chat_of(query),
        query.from_user.id,
        f"contact_group_{mode.name.lower()}",
        f"{callback_data.p}:{callback_data.g}",
        book.move(callback_data.p, callback_data.g, mode),
    )
    groups = groups_from_markup(markup)
    if mode is MoveMode.MOVE:
        groups = [(gid, name, gid == callback_data.g) for gid, name, _m in groups]
    else:
        joined = mode is MoveMode.ADD
        groups = [
            (gid, name, joined if gid == callback_data.g else member)
            for gid, name, member in groups
        ]
    number = display_stored(callback_data.p, region)
    await show_in_place(
        query,
        groups_text(number, False, not groups),
        groups_keyboard(callback_data.p, groups, move=False),
    )
