"""One number at a time: block it (typed, shared, forwarded or from a button), change its type,
undo, remove it with a confirmation or with /unblack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import smsc_error_text
from bot.middlewares import OPERATOR_FLAGS
from bot.phones import display_stored, pick_phone
from bot.services.audit import audited
from bot.services.blacklist import NO_RECORDS, BlackList
from bot.smsc import SmscError
from bot.smsc.client import AUTH_FAILED
from bot.smsc.models import BlackType
from bot.storage.audit import AuditLog
from bot.ui import (
    NOT_COMMAND,
    Cf,
    chat_of,
    esc,
    markup_of,
    send_to_chat,
    show_in_place,
    user_id_of,
)
from handlers.blacklist import browse
from handlers.blacklist.data import BlackRemove, BlAdd, BlDel, BlPage, BlType, BlUndo
from handlers.blacklist.views import entry_keyboard, invalid_text, removed_view, type_text
from handlers.confirm import Asked, Tap, ask_confirmation

router = Router(name="blacklist.one")


@dataclass(frozen=True)
class Editor:
    """A change to one chat's black list: the list, where its numbers are read, the audit log
    and who makes the change. ``Editor.of(event, data)`` in a handler taking ``**data``."""

    black: BlackList
    region: str
    audit: AuditLog
    chat_id: int
    user_id: int | None

    @classmethod
    def of(cls, event: Message | CallbackQuery, data: dict[str, Any]) -> Editor:
        chat_id = event.chat.id if isinstance(event, Message) else chat_of(event)
        return cls(data["black"], data["region"], data["audit"], chat_id, user_id_of(event))

    async def record(self, what: str, target: str, outcome: str) -> None:
        await self.audit.record(self.chat_id, self.user_id, what, target, outcome)


async def block_one(
    editor: Editor, digits: str, comment: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """Add one number with type "all messages" and SMSC's comment, unless it is listed already
    (then say so)."""
    black = editor.black
    number = esc(display_stored(digits, editor.region))
    existing = await black.find(digits)
    if existing is not None:
        # Adding again would quietly change its type to "all messages": leave it as it is.
        await editor.record("black_add", digits, "already")
        return _("<b>{number}</b> was already in the black list: {what}.").format(
            number=number, what=type_text(existing.type)
        ), entry_keyboard(digits, existing.type, fresh=False)
    await audited(
        editor.audit,
        editor.chat_id,
        editor.user_id,
        "black_add",
        digits,
        black.add(digits, BlackType.ALL, comment),
    )
    text = _("<b>{number}</b> is now in the black list: {what}.").format(
        number=number, what=type_text(BlackType.ALL)
    )
    if comment:
        text += "\n" + _("Comment: {text}").format(text=esc(comment))
    return text, entry_keyboard(digits, BlackType.ALL, fresh=True)


async def remove(editor: Editor, digits: str) -> tuple[str, InlineKeyboardMarkup]:
    """Remove the number at once (no question: /unblack, or Undo of an add just made)."""
    try:
        await editor.black.delete(digits)
    except SmscError as exc:
        if exc.code != NO_RECORDS:
            raise
        await editor.record("black_delete", digits, "absent")
        return removed_view(digits, editor.region, absent=True)
    await editor.record("black_delete", digits, "ok")
    return removed_view(digits, editor.region, absent=False)


@router.callback_query(BlAdd.filter(), flags=OPERATOR_FLAGS)
async def press_block(
    query: CallbackQuery, callback_data: BlAdd, state: FSMContext, **data: Any
) -> None:
    await state.clear()
    await send_to_chat(query, *await block_one(Editor.of(query, data), callback_data.p))


@router.callback_query(BlType.filter(F.t.in_({int(t) for t in BlackType})), flags=OPERATOR_FLAGS)
async def change_type(query: CallbackQuery, callback_data: BlType, **data: Any) -> None:
    editor = Editor.of(query, data)
    kind = BlackType(callback_data.t)
    number = esc(display_stored(callback_data.p, editor.region))
    try:
        # The page describes no way to change a type: adding the number again is the one way
        # known, and an error answer means the entry is as it was.
        await editor.black.add(callback_data.p, kind)
    except SmscError as exc:
        if exc.code == AUTH_FAILED:
            raise
        await editor.record("black_type", callback_data.p, f"error {exc.code}")
        text = _(
            "SMSC did not change the type of <b>{number}</b>: {reason} "
            "The number stays in the black list as it was."
        ).format(number=number, reason=esc(smsc_error_text(exc)))
        await show_in_place(query, text, markup_of(query))
        return
    await editor.record("black_type", callback_data.p, kind.name)
    await show_in_place(
        query,
        _("<b>{number}</b> is in the black list: {what}.").format(
            number=number, what=type_text(kind)
        ),
        entry_keyboard(callback_data.p, kind, callback_data.n),
    )


@router.callback_query(BlUndo.filter(), flags=OPERATOR_FLAGS)
async def undo(query: CallbackQuery, callback_data: BlUndo, **data: Any) -> None:
    """Undo of an add made a moment ago with this very message: no second question."""
    await show_in_place(query, *await remove(Editor.of(query, data), callback_data.p))


def page_under(query: CallbackQuery) -> str:
    """The list page the button was pressed on (its page button's data), or "" off the list."""
    markup = markup_of(query)
    for row in markup.inline_keyboard if markup is not None else []:
        for key in row:
            data = key.callback_data or ""
            if data.startswith(BlPage.__prefix__ + ":") and "/" in key.text:
                return data
    return ""


@router.callback_query(BlDel.filter(), flags=OPERATOR_FLAGS)
async def ask_remove(query: CallbackQuery, callback_data: BlDel, region: str, **data: Any) -> None:
    """Asked in place; from the list, the list comes back after the answer, without the number."""
    payload = {"phone": callback_data.p, "page": page_under(query)}
    await ask_removal(query, data, "bldel", payload, region)


async def ask_removal(
    query: CallbackQuery, data: dict[str, Any], action: str, payload: dict[str, str], region: str
) -> None:
    """Removing the number ``payload["phone"]`` from the black list, asked in place."""
    number = esc(display_stored(payload["phone"], region))
    await ask_confirmation(
        query,
        data,
        action=action,
        payload=payload,
        question=_("Remove {number} from the black list?").format(number=number),
        in_place=True,
    )


async def unblock(
    tap: Tap, black: BlackList, digits: str, on_no: Callable[[], Awaitable[None]]
) -> bool | None:
    """Settle a confirmed unblock: True once removed, False when SMSC had no such number (it is
    out of the list either way), None when it was not done (No, or refused and answered)."""
    try:
        done = await tap.delete(
            lambda: black.delete(digits),
            what="black_delete",
            target=digits,
            on_no=on_no,
        )
    except SmscError as exc:
        if exc.code != NO_RECORDS:
            raise
        return False
    return True if done else None


@router.callback_query(Cf.filter(), Asked("bldel"), flags=OPERATOR_FLAGS)
async def confirm_remove(query: CallbackQuery, black: BlackList, region: str, **data: Any) -> None:
    tap = Tap.of(query, data)
    digits = tap.asked.payload.get("phone", "")
    number = esc(display_stored(digits, region))
    page = tap.asked.payload.get("page", "")
    if page:
        await remove_from_list(query, tap, black, region, digits, BlPage.unpack(page))
        return

    async def on_no() -> None:
        entry = await black.find(digits)
        if entry is None:
            await show_in_place(query, *removed_view(digits, region, absent=True))
            return
        await show_in_place(
            query,
            _("{number} stays in the black list.").format(number=number),
            entry_keyboard(digits, entry.type, fresh=False),
        )

    removed = await unblock(tap, black, digits, on_no)
    if removed is not None:
        await show_in_place(query, *removed_view(digits, region, absent=not removed))


async def remove_from_list(
    query: CallbackQuery, tap: Tap, black: BlackList, region: str, digits: str, page: BlPage
) -> None:
    """A removal asked on the list: the list again in place, without the number once removed."""
    number = esc(display_stored(digits, region))

    async def listing(lead: str) -> None:
        await show_in_place(query, *await browse.render_list(black, region, page, lead))

    async def on_no() -> None:
        await listing(_("{number} stays in the black list.").format(number=number))

    if await unblock(tap, black, digits, on_no) is not None:
        await listing(_("{number} is no longer in the black list.").format(number=number))


@router.message(Command("unblack"), flags=OPERATOR_FLAGS)
async def cmd_unblack(
    message: Message, command: CommandObject, state: FSMContext, **data: Any
) -> None:
    await state.clear()
    if not command.args:
        await state.set_state(BlackRemove.number)
        await message.answer(_("Send the number to remove from the black list."))
        return
    await unblock_text(message, state, Editor.of(message, data), command.args)


@router.message(BlackRemove.number, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def got_unblock_number(message: Message, state: FSMContext, **data: Any) -> None:
    await unblock_text(message, state, Editor.of(message, data), message.text or "")


async def unblock_text(message: Message, state: FSMContext, editor: Editor, text: str) -> None:
    phone = pick_phone(text, editor.region)
    if phone is None:
        await state.set_state(BlackRemove.number)
        await message.answer(invalid_text(text))
        return
    await state.clear()
    body, markup = await remove(editor, phone.digits)
    await message.answer(body, reply_markup=markup)
