"""Adding a sender name: the name, then a comment for SMSC's moderators."""

from __future__ import annotations

import re
from typing import Final

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ADMIN_FLAGS
from bot.phones import digits_of
from bot.services.audit import audited
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import is_phone_name
from bot.storage.audit import AuditLog
from bot.text import clean, clip
from bot.ui import NOT_COMMAND, ask, esc, refused
from bot.ui import user_id_of as user_id
from handlers.senders.data import SenderForm, SnAct, SnAction
from handlers.senders.views import code_button, name_rules, open_markup

router = Router(name="senders.add")

COMMENT_LIMIT: Final = 500
# What SMSC accepts as a name: up to 11 Latin letters, digits and these signs (at least one
# letter), or a digital name of up to 15 digits. Only 10 digits or more make a phone number.
_ALPHA_NAME = re.compile(r"^[A-Za-z0-9 .\-_!?&']{1,11}$")
_DIGITAL_NAME = re.compile(r"^[0-9]{1,15}$")
# A phone number as people type one: "+7 (999) 555-01-06" is the digital name 79995550106.
_TYPED_PHONE = re.compile(r"^\+?[0-9\s()\-]+$")


def typed_name(text: str) -> str:
    """The name as typed, or the digits of a phone number typed with a plus, spaces or dashes."""
    name = text.strip()
    if _TYPED_PHONE.match(name) and is_phone_name(digits := digits_of(name)):
        return digits
    return name


def valid_name(name: str) -> bool:
    if _DIGITAL_NAME.match(name):
        return True
    return bool(_ALPHA_NAME.match(name)) and any(ch.isalpha() for ch in name)


async def take_comment(message: Message) -> str | None:
    """The comment in the message; None (answered) when it is empty or too long."""
    comment = clean(message.text or "", multiline=True).strip()
    if not comment or len(comment) > COMMENT_LIMIT:
        await message.answer(
            _("The comment must be 1 to {limit} characters. Send it again.").format(
                limit=COMMENT_LIMIT
            )
        )
        return None
    return comment


@router.callback_query(SnAct.filter(F.action == SnAction.ADD), flags=ADMIN_FLAGS)
async def start_add(query: CallbackQuery, state: FSMContext) -> None:
    prompt = _("Send the new sender name.") + "\n" + name_rules() + "\n" + _("/cancel to stop.")
    await ask(query, state, SenderForm.name, prompt)


@router.message(SenderForm.name, NOT_COMMAND)
async def got_name(message: Message, state: FSMContext) -> None:
    name = typed_name(message.text or "")
    if not valid_name(name):
        await message.answer(
            _("<b>{name}</b> cannot be a sender name.").format(name=esc(clip(name, 40)))
            + "\n"
            + name_rules()
            + "\n"
            + _("Send another one, or /cancel.")
        )
        return
    await state.update_data(name=name)
    await state.set_state(SenderForm.comment)
    await message.answer(
        _(
            "Now a comment for SMSC's moderators: what <b>{name}</b> will be used for "
            "(your company, website or brand)."
        ).format(name=esc(name))
    )


async def add_sender(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog, comment: str
) -> None:
    """Add the name the wizard holds with ``comment`` (the wizard's last step)."""
    name = str((await state.get_data()).get("name", ""))
    try:
        sender_id = await audited(
            audit,
            message.chat.id,
            user_id(message),
            "sender.add",
            name,
            smsc.add_sender(name, comment=comment),
        )
    except SmscError as exc:
        # The name itself was refused (1, or 5: it exists already): ask for another.
        instead = _("SMSC did not accept the name <b>{name}</b>: it may exist already.")
        await refused(
            message,
            state,
            exc,
            _("Send the comment again, or /cancel."),
            codes=(1, 5),
            instead=instead.format(name=esc(name)) + "\n" + _("Send another name, or /cancel."),
            step=SenderForm.name,
        )
        return
    await state.clear()
    lines = [
        _("Sender name <b>{name}</b> added. SMSC's moderators will check it.").format(
            name=esc(name)
        )
    ]
    before = []
    if is_phone_name(name):
        lines.append(_("It is a phone number: confirm it with a code sent to that number."))
        before.append(code_button(sender_id, name))
    await message.answer("\n".join(lines), reply_markup=open_markup(sender_id, *before))
