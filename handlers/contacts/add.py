"""/addcontact: a number (typed or shared) and a name, then its groups; "Add as contact" on a
number's card the same way. The draft lives in the FSM storage until Save."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import OPERATOR_FLAGS
from bot.phones import Phone, display_stored, pick_phone, split_phone_prefix
from bot.services.audit import audited
from bot.services.phonebook import NAME_LIMIT, PhoneBook, valid_name
from bot.storage.audit import AuditLog
from bot.text import clean, clip
from bot.ui import (
    NOT_COMMAND,
    chat_of,
    esc,
    send_to_chat,
    shared_phone,
    show_in_place,
    user_id_of,
)
from handlers.contacts.data import AddContact, CtMenu, CtNew, CtWiz
from handlers.contacts.views import (
    ask_phone_text,
    card_keyboard,
    card_text,
    full_card,
    invalid_number_text,
    no_name_keyboard,
    wizard_keyboard,
    wizard_text,
)

router = Router(name="contacts.add")


async def ask_groups(state: FSMContext, book: PhoneBook) -> tuple[str, InlineKeyboardMarkup]:
    """The last step, group toggles; groups are read first, so a failure leaves the step as is."""
    groups = await book.groups()
    await state.update_data(all=[[g.id, g.name] for g in groups], groups=[])
    await state.set_state(AddContact.groups)
    data = await state.get_data()
    return wizard_text(data), wizard_keyboard(data)


async def already_saved(
    message: Message, state: FSMContext, book: PhoneBook, region: str, phone: Phone
) -> bool:
    """When the number is a contact already, show its card and end the conversation."""
    contact = await book.contact(phone.digits)
    if contact is None:
        return False
    await state.clear()
    await message.answer(
        _("This number is already saved as a contact:")
        + "\n\n"
        + await full_card(book, contact, region),
        reply_markup=card_keyboard(phone.digits),
    )
    return True


@router.message(Command("addcontact"), flags=OPERATOR_FLAGS)
async def cmd_addcontact(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    book: PhoneBook,
    region: str,
    audit: AuditLog,
) -> None:
    await state.clear()
    if not command.args:
        await state.set_state(AddContact.phone)
        await message.answer(ask_phone_text())
        return
    phone, name = split_phone_prefix(command.args, region)
    name = " ".join(clean(name).split())
    if len(name) > NAME_LIMIT:
        await message.answer(
            _("The name is too long: at most {n} characters.").format(n=NAME_LIMIT)
        )
        return
    if phone is None:
        # The question the one-line form answered is asked again; the name is kept.
        await state.set_state(AddContact.phone)
        await state.update_data(name=name)
        await message.answer(invalid_number_text(command.args.split()[0]))
        return
    if await already_saved(message, state, book, region, phone):
        return
    contact = await audited(
        audit,
        message.chat.id,
        user_id_of(message),
        "contact_add",
        phone.digits,
        book.add(phone.digits, name, []),
    )
    await message.answer(
        _("Saved.") + "\n\n" + card_text(contact, region, {}),
        reply_markup=card_keyboard(phone.digits),
    )


async def accept_phone(
    message: Message,
    state: FSMContext,
    book: PhoneBook,
    region: str,
    phone: Phone,
    name: str | None,
) -> None:
    if await already_saved(message, state, book, region, phone):
        return
    await state.update_data(phone=phone.digits, display=phone.display)
    if name:
        await state.update_data(name=clip(name, NAME_LIMIT))
    if (await state.get_data()).get("name"):
        text, markup = await ask_groups(state, book)
        await message.answer(text, reply_markup=markup)
        return
    await state.set_state(AddContact.name)
    await message.answer(
        _("Number: {number}. Now send the contact's name.").format(number=esc(phone.display)),
        reply_markup=no_name_keyboard(),
    )


def shared_name(message: Message) -> str:
    assert message.contact is not None
    names = (message.contact.first_name, message.contact.last_name)
    return " ".join(clean(" ".join(filter(None, names))).split())


@router.message(AddContact.phone, F.contact, flags=OPERATOR_FLAGS)
async def wizard_shared_phone(
    message: Message, state: FSMContext, book: PhoneBook, region: str
) -> None:
    phone = await shared_phone(message, region, invalid_number_text)
    if phone is None:
        return
    await accept_phone(message, state, book, region, phone, shared_name(message))


@router.message(AddContact.phone, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def wizard_phone(message: Message, state: FSMContext, book: PhoneBook, region: str) -> None:
    text = message.text or ""
    phone = pick_phone(text, region)
    if phone is None:
        await message.answer(invalid_number_text(text))
        return
    await accept_phone(message, state, book, region, phone, None)


@router.message(AddContact.name, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def wizard_name(message: Message, state: FSMContext, book: PhoneBook) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(
            _("Send a name of 1 to {n} characters, or tap No name.").format(n=NAME_LIMIT)
        )
        return
    await state.update_data(name=name)
    text, markup = await ask_groups(state, book)
    await message.answer(text, reply_markup=markup)


@router.callback_query(AddContact.name, CtWiz.filter(F.a == "skip"), flags=OPERATOR_FLAGS)
async def wizard_no_name(query: CallbackQuery, state: FSMContext, book: PhoneBook) -> None:
    await state.update_data(name="")
    await send_to_chat(query, *await ask_groups(state, book))


@router.callback_query(AddContact.groups, CtWiz.filter(F.a.in_({"t", "none"})))
async def wizard_toggle(query: CallbackQuery, callback_data: CtWiz, state: FSMContext) -> None:
    data = await state.get_data()
    selected: list[int] = list(data.get("groups", []))
    if callback_data.a == "none":
        selected = []
    elif callback_data.g in selected:
        selected.remove(callback_data.g)
    elif any(gid == callback_data.g for gid, _name in data.get("all", [])):
        selected.append(callback_data.g)
    await state.update_data(groups=selected)
    data["groups"] = selected
    await show_in_place(query, wizard_text(data), wizard_keyboard(data))


@router.callback_query(AddContact.groups, CtWiz.filter(F.a == "new"))
async def wizard_new_group(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(AddContact.new_group)
    await send_to_chat(query, _("Send the name of the new group."))


@router.message(AddContact.new_group, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def wizard_group_name(
    message: Message, state: FSMContext, book: PhoneBook, audit: AuditLog
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(_("Send a group name of 1 to {n} characters.").format(n=NAME_LIMIT))
        return
    group_id = await audited(
        audit, message.chat.id, user_id_of(message), "group_add", name, book.add_group(name)
    )
    data = await state.get_data()
    data["all"] = [*data.get("all", []), [group_id, name]]
    data["groups"] = [*data.get("groups", []), group_id]
    await state.update_data(all=data["all"], groups=data["groups"])
    await state.set_state(AddContact.groups)
    await message.answer(wizard_text(data), reply_markup=wizard_keyboard(data))


@router.callback_query(AddContact.groups, CtWiz.filter(F.a == "save"), flags=OPERATOR_FLAGS)
async def wizard_save(
    query: CallbackQuery, state: FSMContext, book: PhoneBook, region: str, audit: AuditLog
) -> None:
    data = await state.get_data()
    digits: str = data["phone"]
    names = {gid: name for gid, name in data.get("all", [])}
    contact = await book.contact(digits) if data.get("tried") else None
    # After an unanswered attempt the contact may exist already: no second copy then.
    if contact is None:
        await state.update_data(tried=True)
        contact = await audited(
            audit,
            chat_of(query),
            query.from_user.id,
            "contact_add",
            digits,
            book.add(digits, data.get("name") or "", list(data.get("groups", []))),
        )
    await state.clear()
    await show_in_place(
        query, _("Saved.") + "\n\n" + card_text(contact, region, names), card_keyboard(digits)
    )


@router.callback_query(CtMenu.filter(F.a == "add"), flags=OPERATOR_FLAGS)
async def menu_add(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(AddContact.phone)
    await send_to_chat(query, ask_phone_text())


@router.callback_query(CtNew.filter(), flags=OPERATOR_FLAGS)
async def add_number(
    query: CallbackQuery, callback_data: CtNew, state: FSMContext, book: PhoneBook, region: str
) -> None:
    """Add as contact, from a number's card: the name is asked next. A shared contact's card
    left its name in the chat's data: then straight to the groups, as for any shared contact."""
    before = await state.get_data()
    name = before.get("name") if before.get("phone") == callback_data.p else None
    await state.clear()
    await state.update_data(phone=callback_data.p, display=display_stored(callback_data.p, region))
    if isinstance(name, str) and " ".join(clean(name).split()):
        await state.update_data(name=clip(" ".join(clean(name).split()), NAME_LIMIT))
        await send_to_chat(query, *await ask_groups(state, book))
        return
    await state.set_state(AddContact.name)
    await send_to_chat(
        query,
        _("Number: {number}. Now send the contact's name.").format(
            number=esc(display_stored(callback_data.p, region))
        ),
        no_name_keyboard(),
    )
