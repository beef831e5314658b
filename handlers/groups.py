"""/groups: contact groups with their sizes; create, rename, delete, and page through one group."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import fmt_number
from bot.middlewares import ACCOUNT_FLAG
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import SmscClient
from bot.smsc.models import Group
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import Cf, confirm_keyboard, esc, pager_row, user_id_of
from handlers.confirm import Asked, cancel, claim, perform
from handlers.contacts import NAME_LIMIT, CtPage, PhoneBook, clip, valid_name

router = Router(name="groups")

PAGE_SIZE = 20
BUTTON_TEXT = 32


class GroupEdit(StatesGroup):
    new = State()
    rename = State()


class GrPage(CallbackData, prefix="grp"):
    o: int


class GrOpen(CallbackData, prefix="gro"):
    g: int


class GrAct(CallbackData, prefix="gra"):
    """A group button: ``a`` is rn (rename) or del (delete)."""

    a: str
    g: int


class GrNew(CallbackData, prefix="grn"):
    pass


def contacts_count(count: int) -> str:
    return ngettext("{n} contact", "{n} contacts", count).format(n=fmt_number(count))


async def render_groups(book: PhoneBook, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    groups = sorted(await book.groups(), key=lambda g: g.name.casefold())
    offset = max(0, min(offset, (len(groups) - 1) // PAGE_SIZE * PAGE_SIZE)) if groups else 0
    shown = groups[offset : offset + PAGE_SIZE]
    lines = [_("Contact groups:") if groups else _("There are no groups yet.")]
    lines += [f"• <b>{esc(clip(g.name, 64))}</b> — {contacts_count(g.cnt)}" for g in shown]
    buttons = [
        InlineKeyboardButton(text=clip(g.name, BUTTON_TEXT), callback_data=GrOpen(g=g.id).pack())
        for g in shown
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    previous = GrPage(o=offset - PAGE_SIZE) if offset > 0 else None
    following = GrPage(o=offset + PAGE_SIZE) if offset + PAGE_SIZE < len(groups) else None
    pager = pager_row(previous, following)
    if pager:
        rows.append(pager)
    rows.append([InlineKeyboardButton(text=_("New group"), callback_data=GrNew().pack())])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("groups"), flags={ACCOUNT_FLAG: True})
async def cmd_groups(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    await state.clear()
    body, markup = await render_groups(PhoneBook(smsc, account), 0)
    await message.answer(body, reply_markup=markup)


@router.callback_query(GrPage.filter(), flags={ACCOUNT_FLAG: True})
async def turn_page(
    query: CallbackQuery, callback_data: GrPage, smsc: SmscClient, account: Account
) -> None:
    if isinstance(query.message, Message):
        body, markup = await render_groups(PhoneBook(smsc, account), callback_data.o)
        await query.message.edit_text(body, reply_markup=markup)


async def find_group(book: PhoneBook, group_id: int) -> Group | None:
    return next((g for g in await book.groups() if g.id == group_id), None)


def group_view(group: Group) -> tuple[str, InlineKeyboardMarkup]:
    text = _("Group <b>{name}</b>: {count}.").format(
        name=esc(clip(group.name, 256)), count=contacts_count(group.cnt)
    )
    if group.number:
        # phones.php: <number> is "the number of the mailing group".
        text += "\n" + _("Mailing group number: {number}").format(number=group.number)
    rows = [
        [
            InlineKeyboardButton(
                text=_("Its contacts"), callback_data=CtPage(d="n", at=0, g=group.id).pack()
            )
        ],
        [
            InlineKeyboardButton(text=_("Rename"), callback_data=GrAct(a="rn", g=group.id).pack()),
            InlineKeyboardButton(text=_("Delete"), callback_data=GrAct(a="del", g=group.id).pack()),
        ],
        [InlineKeyboardButton(text=_("All groups"), callback_data=GrPage(o=0).pack())],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def gone_text() -> str:
    return _("This group no longer exists.")


@router.callback_query(GrOpen.filter(), flags={ACCOUNT_FLAG: True})
async def open_group(
    query: CallbackQuery, callback_data: GrOpen, smsc: SmscClient, account: Account
) -> None:
    if not isinstance(query.message, Message):
        return
    group = await find_group(PhoneBook(smsc, account), callback_data.g)
    if group is None:
        await query.message.edit_text(gone_text())
        return
    text, markup = group_view(group)
    await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(GrNew.filter())
async def ask_new(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(GroupEdit.new)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send the name of the new group."))


async def bad_name(message: Message) -> None:
    await message.answer(_("Send a group name of 1 to {n} characters.").format(n=NAME_LIMIT))


@router.message(GroupEdit.new, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_new(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account, audit: AuditLog
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await bad_name(message)
        return
    group_id = await PhoneBook(smsc, account).add_group(name)
    await audit.record(message.chat.id, user_id_of(message), "group_add", name, "ok")
    await state.clear()
    text, markup = group_view(Group(id=group_id, name=name, cnt=0))
    await message.answer(_("Group created.") + "\n" + text, reply_markup=markup)


@router.callback_query(GrAct.filter(F.a == "rn"))
async def ask_rename(query: CallbackQuery, callback_data: GrAct, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(GroupEdit.rename)
    await state.update_data(group=callback_data.g)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send the new name of the group."))


@router.message(GroupEdit.rename, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_rename(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account, audit: AuditLog
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await bad_name(message)
        return
    group_id = int((await state.get_data())["group"])
    book = PhoneBook(smsc, account)
    await book.rename_group(group_id, name)
    await audit.record(message.chat.id, user_id_of(message), "group_rename", str(group_id), "ok")
    await state.clear()
    group = await find_group(book, group_id)
    if group is None:
        await message.answer(gone_text())
        return
    text, markup = group_view(group)
    await message.answer(_("Renamed.") + "\n" + text, reply_markup=markup)


@router.message(GroupEdit.new, ~F.text.startswith("/"))
@router.message(GroupEdit.rename, ~F.text.startswith("/"))
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))


@router.callback_query(GrAct.filter(F.a == "del"), flags={ACCOUNT_FLAG: True})
async def ask_delete(
    query: CallbackQuery,
    callback_data: GrAct,
    smsc: SmscClient,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    if not isinstance(query.message, Message):
        return
    group = await find_group(PhoneBook(smsc, account), callback_data.g)
    if group is None:
        await query.message.edit_text(gone_text())
        return
    record_id = await confirmations.ask(
        chat_id=query.message.chat.id,
        account=account_key(account),
        action="grdel",
        payload={"group": str(group.id)},
        asked_by=query.from_user.id,
        ttl=CHANGE_TTL,
    )
    await query.message.answer(
        ngettext(
            "Delete the group <b>{name}</b>? It holds {n} contact.",
            "Delete the group <b>{name}</b>? It holds {n} contacts.",
            group.cnt,
        ).format(name=esc(clip(group.name, 256)), n=fmt_number(group.cnt)),
        reply_markup=confirm_keyboard(record_id),
    )


@router.callback_query(Cf.filter(), Asked("grdel"), flags={ACCOUNT_FLAG: True})
async def confirm_delete(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    if not isinstance(query.message, Message):
        return
    group_id = int(asked.payload.get("group", "0"))
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            await query.message.edit_text(_("The group stays."))
        return
    record = await claim(query, asked, confirmations, account)
    if record is None:
        return
    if await perform(
        query,
        confirmations,
        audit,
        record,
        lambda: PhoneBook(smsc, account).delete_group(group_id),
        what="group_delete",
        target=str(group_id),
    ):
        await query.message.edit_text(_("The group is deleted."))
