"""/groups: contact groups with their sizes; create, rename, delete, and page through one group."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import fmt_number
from bot.middlewares import ACCOUNT_FLAG, OPERATOR_FLAGS
from bot.services.audit import audited
from bot.services.phonebook import NAME_LIMIT, PhoneBook, valid_name
from bot.smsc.models import Group
from bot.storage.audit import AuditLog
from bot.text import clip
from bot.ui import (
    NOT_COMMAND,
    Cf,
    ask,
    button,
    esc,
    expected_text,
    keyboard,
    not_command,
    pager_row,
    show_in_place,
    user_id_of,
)
from handlers.common import Choice, CtPage, Menu, home_button, home_row
from handlers.confirm import Asked, Tap, ask_confirmation

router = Router(name="groups")

PAGE_SIZE = 20
BUTTON_TEXT = 24


class GroupEdit(StatesGroup):
    new = State()
    rename = State()


class GrPage(CallbackData, prefix="grp"):
    o: int


class GrOpen(CallbackData, prefix="gro"):
    g: int


class GrAct(CallbackData, Choice, prefix="gra"):
    """A group button: ``a`` is rn (rename) or del (delete)."""

    g: int


class GrNew(CallbackData, prefix="grn"): ...


def contacts_count(count: int) -> str:
    return ngettext("{n} contact", "{n} contacts", count).format(n=fmt_number(count))


async def render_groups(book: PhoneBook, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    groups = sorted(await book.groups(), key=lambda g: g.name.casefold())
    offset = max(0, min(offset, (len(groups) - 1) // PAGE_SIZE * PAGE_SIZE)) if groups else 0
    shown = groups[offset : offset + PAGE_SIZE]
    lines = [_("Contact groups:") if groups else _("There are no groups yet.")]
    lines += [f"• <b>{esc(clip(g.name, 64))}</b> — {contacts_count(g.cnt)}" for g in shown]
    buttons = [button(clip(g.name, BUTTON_TEXT), GrOpen(g=g.id)) for g in shown]
    previous = GrPage(o=offset - PAGE_SIZE) if offset > 0 else None
    following = GrPage(o=offset + PAGE_SIZE) if offset + PAGE_SIZE < len(groups) else None
    pager = pager_row(previous, following)
    new = [button(_("New group"), GrNew()), home_button()]
    return "\n".join(lines), keyboard(buttons, 2, *([pager] if pager else []), new)


@router.message(Command("groups"), flags={ACCOUNT_FLAG: True})
async def cmd_groups(message: Message, state: FSMContext, book: PhoneBook) -> None:
    await state.clear()
    body, markup = await render_groups(book, 0)
    await message.answer(body, reply_markup=markup)


@router.callback_query(Menu.filter(F.action == "groups"), flags={ACCOUNT_FLAG: True})
async def groups_from_contacts(query: CallbackQuery, state: FSMContext, book: PhoneBook) -> None:
    """The contacts list's "Groups": the list in place of it."""
    await state.clear()
    await show_in_place(query, *await render_groups(book, 0))


@router.callback_query(GrPage.filter(), flags={ACCOUNT_FLAG: True})
async def turn_page(query: CallbackQuery, callback_data: GrPage, book: PhoneBook) -> None:
    body, markup = await render_groups(book, callback_data.o)
    await show_in_place(query, body, markup)


def group_view(group: Group) -> tuple[str, InlineKeyboardMarkup]:
    text = _("Group <b>{name}</b>: {count}.").format(
        name=esc(clip(group.name, 256)), count=contacts_count(group.cnt)
    )
    if group.number:
        # phones.php: <number> is "the number of the mailing group".
        text += "\n" + _("Mailing group number: {number}").format(number=group.number)
    rows = [
        [button(_("Its contacts"), CtPage(d="n", at=0, g=group.id))],
        [
            button(_("Rename"), GrAct(a="rn", g=group.id)),
            button(_("Delete"), GrAct(a="del", g=group.id)),
        ],
        [button("« " + _("All groups"), GrPage(o=0)), home_button()],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def gone_text() -> str:
    return _("This group no longer exists.")


def gone_markup() -> InlineKeyboardMarkup:
    """The way on from a group that is no more."""
    return keyboard([button("« " + _("All groups"), GrPage(o=0))], 1, home_row())


@router.callback_query(GrOpen.filter(), flags={ACCOUNT_FLAG: True})
async def open_group(query: CallbackQuery, callback_data: GrOpen, book: PhoneBook) -> None:
    group = await book.group(callback_data.g)
    if group is None:
        await show_in_place(query, gone_text(), gone_markup())
        return
    await show_in_place(query, *group_view(group))


@router.callback_query(GrNew.filter(), flags=OPERATOR_FLAGS)
async def ask_new(query: CallbackQuery, state: FSMContext) -> None:
    await ask(query, state, GroupEdit.new, _("Send the name of the new group."))


@router.callback_query(GrAct.filter(F.a == "rn"), flags=OPERATOR_FLAGS)
async def ask_rename(query: CallbackQuery, callback_data: GrAct, state: FSMContext) -> None:
    await ask(
        query, state, GroupEdit.rename, _("Send the new name of the group."), group=callback_data.g
    )


@router.message(StateFilter(GroupEdit.new, GroupEdit.rename), NOT_COMMAND, flags=OPERATOR_FLAGS)
async def got_name(message: Message, state: FSMContext, book: PhoneBook, audit: AuditLog) -> None:
    """A group's name, checked the same way for a new group and a renamed one."""
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(_("Send a group name of 1 to {n} characters.").format(n=NAME_LIMIT))
        return
    user = user_id_of(message)
    if await state.get_state() == GroupEdit.new.state:
        group_id = await audited(
            audit, message.chat.id, user, "group_add", name, book.add_group(name)
        )
        await state.clear()
        text, markup = group_view(Group(id=group_id, name=name, cnt=0))
        await message.answer(_("Group created.") + "\n" + text, reply_markup=markup)
        return
    group_id = int((await state.get_data())["group"])
    await audited(
        audit,
        message.chat.id,
        user,
        "group_rename",
        str(group_id),
        book.rename_group(group_id, name),
    )
    await state.clear()
    group = await book.group(group_id)
    if group is None:
        await message.answer(gone_text(), reply_markup=gone_markup())
        return
    text, markup = group_view(group)
    await message.answer(_("Renamed.") + "\n" + text, reply_markup=markup)


router.message(StateFilter(GroupEdit.new, GroupEdit.rename), not_command)(expected_text)


@router.callback_query(GrAct.filter(F.a == "del"), flags=OPERATOR_FLAGS)
async def ask_delete(
    query: CallbackQuery,
    callback_data: GrAct,
    book: PhoneBook,
    **data: Any,
) -> None:
    group = await book.group(callback_data.g)
    if group is None:
        await show_in_place(query, gone_text(), gone_markup())
        return
    await ask_confirmation(
        query,
        data,
        action="grdel",
        payload={"group": str(group.id)},
        question=ngettext(
            "Delete the group <b>{name}</b>? It holds {n} contact.",
            "Delete the group <b>{name}</b>? It holds {n} contacts.",
            group.cnt,
        ).format(name=esc(clip(group.name, 256)), n=fmt_number(group.cnt)),
        yes=_("Yes, delete"),
        in_place=True,
    )


@router.callback_query(Cf.filter(), Asked("grdel"), flags=OPERATOR_FLAGS)
async def confirm_delete(query: CallbackQuery, book: PhoneBook, **data: Any) -> None:
    tap = Tap.of(query, data)
    group_id = int(tap.asked.payload.get("group", "0"))

    async def on_no() -> None:
        group = await book.group(group_id)
        if group is None:
            await show_in_place(query, gone_text(), gone_markup())
            return
        text, markup = group_view(group)
        await show_in_place(query, _("The group stays.") + "\n" + text, markup)

    made = await tap.delete(
        lambda: book.delete_group(group_id),
        what="group_delete",
        target=str(group_id),
        on_no=on_no,
    )
    if made:
        await show_in_place(query, _("The group is deleted."), gone_markup())
