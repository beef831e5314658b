"""Renaming a template, a new text, and deleting one (confirmed through a record)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import N_
from bot.middlewares import OPERATOR_FLAGS
from bot.services.audit import audited
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import Template
from bot.storage.audit import AuditLog
from bot.ui import NOT_COMMAND, ask, refused
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.confirm import DeleteFlow
from handlers.templates.add import check_field
from handlers.templates.browse import find, open_card, recalled, remember
from handlers.templates.data import TemplateEdit, TpAct, TpAction, TpCard
from handlers.templates.views import back_markup, open_markup

router = Router(name="templates.edit")


@router.callback_query(
    TpAct.filter(F.action.in_({TpAction.NAME, TpAction.TEXT})), flags=OPERATOR_FLAGS
)
async def start_edit(
    query: CallbackQuery, callback_data: TpAct, state: FSMContext, smsc: SmscClient
) -> None:
    # A change sends every field (the page does not promise that left-out ones are kept): they
    # are taken now, as the card just showed them or read afresh, and kept for the conversation.
    template = recalled(await state.get_data(), callback_data.id)
    await state.clear()
    if template is None:
        template = await find(smsc, callback_data.id)
    if template is None:
        await show(query, _("This template no longer exists."), back_markup())
        return
    if callback_data.action == TpAction.NAME:
        step, prompt = TemplateEdit.name, _("Send the new name of this template, or /cancel.")
    else:
        step, prompt = TemplateEdit.text, _("Send the new text of this template, or /cancel.")
    # A reply, so the card above shows which template is being changed.
    await ask(
        query,
        state,
        step,
        prompt,
        reply=True,
        id=callback_data.id,
        template=template.model_dump(),
    )


async def save_edit(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    audit: AuditLog,
    field: str,
    value: str,
) -> None:
    """Send a template's new name or text (``field``), with its other fields as last read."""
    data = await state.get_data()
    template_id = int(data.get("id", 0))
    name, text = (value, None) if field == "name" else (None, value)
    action = "template.rename" if name is not None else "template.text"
    try:
        template = Template.model_validate(data["template"])
    except (KeyError, ValueError):
        # A conversation begun before every field was kept: begin it again.
        await state.clear()
        await message.answer(_("This button is out of date. Open the template again."))
        return
    try:
        await audited(
            audit,
            message.chat.id,
            user_id(message),
            action,
            str(template_id),
            smsc.change_template(template, name=name, message=text),
        )
    except SmscError as exc:
        gone = _("This template no longer exists.")
        again = _("Send it again, or /cancel.")
        await refused(message, state, exc, again, instead=gone, way_on=back_markup())
        return
    await state.clear()
    changes = {"name": name} if name is not None else {"message": text}
    await remember(state, template.model_copy(update=changes))
    await message.answer(_("Saved."), reply_markup=open_markup(template_id))


@router.message(
    StateFilter(TemplateEdit.name, TemplateEdit.text), NOT_COMMAND, flags=OPERATOR_FLAGS
)
async def got_change(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    typed = await check_field(message, await state.get_state())
    if typed is not None:
        await save_edit(message, state, smsc, audit, *typed)


async def card_again(query: CallbackQuery, smsc: SmscClient, template_id: int) -> None:
    await open_card(query, TpCard(id=template_id), smsc)


DeleteFlow(
    action="tpdel",
    key="template",
    question=N_("Delete this template?"),
    done=N_("The template is deleted."),
    delete=lambda smsc, template_id: smsc.delete_template(template_id),
    card=card_again,
    back=back_markup,
).register(router, TpAct.filter(F.action == TpAction.DELETE), OPERATOR_FLAGS)
