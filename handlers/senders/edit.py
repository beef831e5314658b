"""Changing a sender name's comment (and taking the new name's: the same step), and deleting a
name (confirmed through a record)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import N_
from bot.middlewares import ADMIN_FLAGS
from bot.services.audit import audited
from bot.smsc import SmscClient, SmscError
from bot.storage.audit import AuditLog
from bot.ui import NOT_COMMAND, ask, refused
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.confirm import DeleteFlow
from handlers.senders.add import add_sender, take_comment
from handlers.senders.browse import load_card
from handlers.senders.data import SenderComment, SenderForm, SnAct, SnAction
from handlers.senders.views import back_markup, open_markup

router = Router(name="senders.edit")


@router.callback_query(SnAct.filter(F.action == SnAction.COMMENT), flags=ADMIN_FLAGS)
async def start_comment(query: CallbackQuery, callback_data: SnAct, state: FSMContext) -> None:
    prompt = _("Send the new comment for this sender name, or /cancel.")
    await ask(query, state, SenderComment.text, prompt, reply=True, id=callback_data.id)


@router.message(StateFilter(SenderForm.comment, SenderComment.text), NOT_COMMAND, flags=ADMIN_FLAGS)
async def got_comment(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    """A comment for a new name (the wizard's last step) or a name's new one: checked alike."""
    comment = await take_comment(message)
    if comment is None:
        return
    if await state.get_state() == SenderForm.comment.state:
        await add_sender(message, state, smsc, audit, comment)
        return
    sender_id = int((await state.get_data()).get("id", 0))
    try:
        await audited(
            audit,
            message.chat.id,
            user_id(message),
            "sender.comment",
            str(sender_id),
            smsc.change_sender(sender_id=sender_id, comment=comment),
        )
    except SmscError as exc:
        again = _("Send the comment again, or /cancel.")
        gone = _("This sender name no longer exists.")
        await refused(message, state, exc, again, instead=gone, way_on=back_markup())
        return
    await state.clear()
    await message.answer(_("Comment saved."), reply_markup=open_markup(sender_id))


async def card_again(query: CallbackQuery, smsc: SmscClient, sender_id: int) -> None:
    await show(query, *await load_card(smsc, sender_id))


DeleteFlow(
    action="sndel",
    key="sender",
    question=N_("Delete this sender name? Messages can no longer be sent from it."),
    done=N_("The sender name is deleted."),
    delete=lambda smsc, sender_id: smsc.delete_sender(sender_id=sender_id),
    card=card_again,
    back=back_markup,
).register(router, SnAct.filter(F.action == SnAction.DELETE), ADMIN_FLAGS)
