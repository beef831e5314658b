"""Texts and keyboards of contacts: the card, the list, /addcontact's steps, a contact's groups."""

from __future__ import annotations

import re
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import fmt_date
from bot.phones import digits_of, display_stored, parse_phone
from bot.services.phonebook import NAME_LIMIT, PhoneBook
from bot.smsc.models import Contact, MoveMode
from bot.text import clip
from bot.ui import button, esc, keyboard
from handlers.common import HiPage, home_row
from handlers.contacts.data import (
    BUTTON_TEXT,
    FIELD_LIMIT,
    MARK,
    MAX_GROUP_BUTTONS,
    CtAct,
    CtCard,
    CtGrp,
    CtGrpView,
    CtPage,
    CtWiz,
)

GroupMark = tuple[int, str, bool]
# Digits with the separators numbers are written with: "345-67", "(912) 345".
PART_OF_NUMBER = re.compile(r"\+?[\d\s()\-]+")


def title(contact: Contact) -> str:
    full = " ".join(p for p in (contact.last_name, contact.first_name, contact.middle_name) if p)
    return contact.name or full


def group_label(group_id: int, names: dict[int, str]) -> str:
    return names.get(group_id) or _("group #{id}").format(id=group_id)


def gone_text(digits: str, region: str) -> str:
    return _("There is no contact with the number {number} any more.").format(
        number=esc(display_stored(digits, region))
    )


def invalid_number_text(text: str) -> str:
    return _(
        "<b>{text}</b> is not a valid phone number. Send the number again, "
        "for example +7 999 123-45-67, or /cancel."
    ).format(text=esc(clip(text.strip(), 40)))


# -- the card --------------------------------------------------------------------------------


def card_text(contact: Contact, region: str, names: dict[int, str]) -> str:
    name = title(contact)
    lines = [f"<b>{esc(clip(name, NAME_LIMIT))}</b>" if name else _("No name")]
    numbers = ", ".join(display_stored(p, region) for p in contact.phones)
    lines.append(_("Number: {numbers}").format(numbers=esc(numbers)))
    if contact.groups:
        groups = ", ".join(group_label(g, names) for g in contact.groups)
        lines.append(_("Groups: {groups}").format(groups=esc(clip(groups, FIELD_LIMIT))))
    else:
        lines.append(_("Groups: none"))
    if contact.comments:
        lines.append(_("Comment: {text}").format(text=esc(clip(contact.comments, FIELD_LIMIT))))
    if contact.tags:
        lines.append(_("Tags: {text}").format(text=esc(clip(contact.tags, FIELD_LIMIT))))
    if contact.birthday:
        lines.append(_("Birthday: {date}").format(date=esc(fmt_date(contact.birthday))))
    if contact.phone_other:
        lines.append(
            _("Other numbers: {text}").format(text=esc(clip(contact.phone_other, FIELD_LIMIT)))
        )
    return "\n".join(lines)


def card_keyboard(digits: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            button(_("Rename"), CtAct(a="rn", p=digits)),
            button(_("Change number"), CtAct(a="ph", p=digits)),
            button(_("Groups"), CtAct(a="gr", p=digits)),
            button(_("Delete"), CtAct(a="del", p=digits)),
            button(_("Sent messages"), HiPage(p=digits)),
        ],
        2,
        home_row(),
    )


async def full_card(book: PhoneBook, contact: Contact, region: str) -> str:
    names = await book.names() if contact.groups else {}
    return card_text(contact, region, names)


async def card_view(
    book: PhoneBook, region: str, digits: str, lead: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The contact's card as read now; ``lead`` goes above it (what just happened)."""
    contact = await book.contact(digits)
    if contact is None:
        return "\n".join(filter(None, (lead, gone_text(digits, region)))), None
    text = await full_card(book, contact, region)
    return (f"{lead}\n\n{text}" if lead else text), card_keyboard(digits)


# -- the list ----------------------------------------------------------------------------------


def search_term(text: str, region: str) -> str:
    """What SMSC searches for: a number as SMSC stores it; part of a number written as the bot
    prints numbers ("345-67") as its digits, which is how SMSC matches; else the text as typed."""
    phone = parse_phone(text, region)
    if phone is not None:
        return phone.digits
    if PART_OF_NUMBER.fullmatch(text.strip()) and len(digits_of(text)) >= 3:
        return digits_of(text)
    return " ".join(text.split())


def page_fits(query: str) -> bool:
    try:
        CtPage(d="n", at=10**12, g=10**9, q=query).pack()
    except ValueError:
        return False
    return True


def list_line(index: int, contact: Contact, region: str) -> str:
    number = display_stored(contact.phone, region) if contact.phone else ""
    name = clip(title(contact), 60)
    return f"{index}. " + (f"<b>{esc(name)}</b> — {esc(number)}" if name else esc(number))


# -- /addcontact -------------------------------------------------------------------------------


def ask_phone_text() -> str:
    return _("Send the phone number to save, or share a contact from your phone book.")


def wizard_keyboard(data: dict[str, Any]) -> InlineKeyboardMarkup:
    selected = set(data.get("groups", []))
    groups = [
        button(clip((MARK if gid in selected else "") + name, BUTTON_TEXT), CtWiz(a="t", g=gid))
        for gid, name in data.get("all", [])[:MAX_GROUP_BUTTONS]
    ]
    extra = [
        [
            button(("" if selected else MARK) + _("No group"), CtWiz(a="none")),
            button(_("New group"), CtWiz(a="new")),
        ],
        [button(_("Save"), CtWiz(a="save"))],
    ]
    return keyboard(groups, 2, *extra)


def wizard_text(data: dict[str, Any]) -> str:
    name = data.get("name") or ""
    who = f"<b>{esc(name)}</b>, {esc(data['display'])}" if name else esc(data["display"])
    return _("New contact: {who}\nChoose its groups, then tap Save.").format(who=who)


# -- a contact's groups ----------------------------------------------------------------------


def groups_keyboard(digits: str, groups: list[GroupMark], move: bool) -> InlineKeyboardMarkup:
    buttons = []
    for gid, name, member in groups[:MAX_GROUP_BUTTONS]:
        mode = MoveMode.MOVE if move else MoveMode.REMOVE if member else MoveMode.ADD
        buttons.append(
            button(
                clip((MARK if member else "") + name, BUTTON_TEXT),
                CtGrp(p=digits, g=gid, m=int(mode)),
            )
        )
    switch = (
        button(_("Add or remove"), CtGrpView(p=digits, move=False))
        if move
        else button(_("Move to one group"), CtGrpView(p=digits, move=True))
    )
    back = button(_("Back to the card"), CtCard(p=digits))
    return keyboard(buttons, 2, [switch, back] if groups else [back])


def groups_text(number: str, move: bool, empty: bool) -> str:
    if empty:
        return _("There are no groups yet: create one with /groups.")
    if move:
        return _("Move {number} to which group? It will be in that group only.").format(
            number=esc(number)
        )
    return _(
        "Groups of {number}: ✓ marks the groups it is in. Tap a group to add or remove it."
    ).format(number=esc(number))


def groups_from_markup(markup: InlineKeyboardMarkup | None) -> list[GroupMark]:
    """The group buttons as the message shows them: ids, names and membership."""
    found: list[GroupMark] = []
    for row in markup.inline_keyboard if markup else []:
        for key in row:
            data = key.callback_data or ""
            if data.startswith(CtGrp.__prefix__ + ":"):
                member = key.text.startswith(MARK)
                found.append((CtGrp.unpack(data).g, key.text.removeprefix(MARK), member))
    return found


def no_name_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[button(_("No name"), CtWiz(a="skip"))]])


def shared_invalid_text(number: str) -> str:
    return _("The shared contact's number {number} is not a valid phone number.").format(
        number=esc(number)
    )
