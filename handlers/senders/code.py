"""The code that confirms a digital sender name: having SMSC send one, and typing it in."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any, Final

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import StaleButton, explain
from bot.middlewares import ADMIN_FLAGS
from bot.services.audit import audited
from bot.smsc import SmscClient, SmscError
from bot.storage.audit import AuditLog
from bot.ui import NOT_COMMAND, ask, chat_of, esc, refused
from bot.ui import user_id_of as user_id
from handlers.senders.data import SenderCode, SnAct, SnAction
from handlers.senders.views import (
    back_markup,
    enter_code_keyboard,
    open_markup,
    phone_text,
    wait_text,
)

router = Router(name="senders.code")

# SMSC sends another confirmation code to the same number 8 hours after the previous one.
CODE_INTERVAL: Final = 8 * 3600
CODES_DESTINY: Final = "sn_codes"
_CODE = re.compile(r"^\d{3,10}$")


def codes_state(state: FSMContext) -> FSMContext:
    """When codes went out, per name: kept apart from the wizard so /cancel cannot forget it."""
    return FSMContext(state.storage, dataclasses.replace(state.key, destiny=CODES_DESTINY))


async def code_already_sent(state: FSMContext, name: str) -> str:
    sent: dict[str, Any] = await codes_state(state).get_data()
    sent_at = sent.get(name)
    left = CODE_INTERVAL - (time.time() - float(sent_at)) if sent_at is not None else 0
    if left > 0:
        return _(
            "A code was already sent to this number. SMSC sends another one 8 hours after "
            "the previous one: in {wait}."
        ).format(wait=wait_text(left))
    return _(
        "A code was already sent to this number less than 8 hours ago (not through this bot). "
        "SMSC sends another one 8 hours after the previous one: try again later."
    )


def code_name(callback_data: SnAct) -> str:
    if not callback_data.name.isdigit():
        raise StaleButton("malformed code button")
    return callback_data.name


@router.callback_query(SnAct.filter(F.action == SnAction.CODE), flags=ADMIN_FLAGS)
async def send_code(
    query: CallbackQuery,
    callback_data: SnAct,
    state: FSMContext,
    smsc: SmscClient,
    audit: AuditLog,
) -> None:
    name = code_name(callback_data)
    chat_id = chat_of(query)
    try:
        await audited(
            audit,
            chat_id,
            query.from_user.id,
            "sender.send_code",
            name,
            smsc.send_sender_code(name),
        )
    except SmscError as exc:
        # A new message under the card: it leads back to the card (with "I have a code" after 10).
        markup = open_markup(callback_data.id)
        if exc.code == 10:
            text = await code_already_sent(state, name)
            markup = enter_code_keyboard(callback_data.id, name)
        elif exc.code == 8:
            text = (
                explain(exc)
                + "\n"
                + _("Check that the number can receive SMS, or ask SMSC's support to confirm it.")
            )
        else:
            text = explain(exc)
        if query.bot is not None:
            await query.bot.send_message(chat_id, text, reply_markup=markup)
        return
    codes = codes_state(state)
    now = time.time()
    sent = {k: v for k, v in (await codes.get_data()).items() if now - float(v) < CODE_INTERVAL}
    sent[name] = now
    await codes.set_data(sent)
    prompt = _("SMSC sent a code by SMS to {phone}. Send the code here, or /cancel.").format(
        phone=esc(phone_text(name))
    )
    await ask(query, state, SenderCode.code, prompt, id=callback_data.id, name=name)


@router.callback_query(SnAct.filter(F.action == SnAction.ENTER), flags=ADMIN_FLAGS)
async def start_enter_code(query: CallbackQuery, callback_data: SnAct, state: FSMContext) -> None:
    name = code_name(callback_data)
    prompt = _("Send the code that came to {phone}, or /cancel.").format(
        phone=esc(phone_text(name))
    )
    await ask(query, state, SenderCode.code, prompt, id=callback_data.id, name=name)


@router.message(SenderCode.code, NOT_COMMAND, flags=ADMIN_FLAGS)
async def got_code(message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog) -> None:
    code = re.sub(r"[\s-]", "", message.text or "")
    if not _CODE.match(code):
        await message.answer(_("A code is only digits. Send it again, or /cancel."))
        return
    data = await state.get_data()
    name, sender_id = str(data.get("name", "")), int(data.get("id", 0))
    try:
        await audited(
            audit,
            message.chat.id,
            user_id(message),
            "sender.check_code",
            name,
            smsc.check_sender_code(name, code),
        )
    except SmscError as exc:
        # Error 11 (a wrong code) and the rest but 3: the user may simply try again.
        gone = _("This sender name no longer exists.")
        await refused(
            message, state, exc, _("/cancel to stop."), instead=gone, way_on=back_markup()
        )
        return
    await state.clear()
    await message.answer(
        _("The number {phone} is confirmed.").format(phone=esc(phone_text(name))),
        reply_markup=open_markup(sender_id),
    )
