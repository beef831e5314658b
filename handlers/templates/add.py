"""Adding a template: name, text, format, sender name, auto-signature; a repeated last tap never
makes a second copy."""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import StaleButton, explain
from bot.middlewares import OPERATOR_FLAGS
from bot.services.audit import audited
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import TemplateFormat
from bot.storage.audit import AuditLog
from bot.text import clean
from bot.ui import NOT_COMMAND, ask, button, chat_of, esc, keyboard, phone_width
from bot.ui import show_in_place as show
from handlers.templates.data import (
    TemplateEdit,
    TemplateForm,
    TpAct,
    TpAction,
    TpFormat,
    TpSender,
    TpSign,
)
from handlers.templates.views import (
    MORE,
    format_keyboard,
    format_text,
    length_text,
    open_markup,
    sign_keyboard,
)

router = Router(name="templates.add")

NAME_LIMIT: Final = 100
# The template's text must fit one Telegram message together with its card.
TEXT_LIMIT: Final = 3500


@router.callback_query(TpAct.filter(F.action == TpAction.ADD), flags=OPERATOR_FLAGS)
async def start_add(query: CallbackQuery, state: FSMContext) -> None:
    await ask(query, state, TemplateForm.name, _("Send a name for the new template, or /cancel."))


async def check_field(message: Message, step: str | None) -> tuple[str, str] | None:
    """A template's name or text as typed at ``step`` (a state asking for one), checked: the
    field ("name" or "text") and its value; else None, and the rule is said."""
    if step in (TemplateForm.name.state, TemplateEdit.name.state):
        field, value, limit = "name", " ".join(clean(message.text or "").split()), NAME_LIMIT
        rule = _("A template name is 1 to {limit} characters. Send it again, or /cancel.")
    else:
        field, value, limit = "text", (message.text or "").strip(), TEXT_LIMIT
        rule = _("A template text is 1 to {limit} characters. Send it again, or /cancel.")
    if value and len(value) <= limit:
        return field, value
    await message.answer(rule.format(limit=limit))
    return None


@router.message(StateFilter(TemplateForm.name, TemplateForm.text), NOT_COMMAND)
async def got_field(message: Message, state: FSMContext) -> None:
    typed = await check_field(message, await state.get_state())
    if typed is None:
        return
    field, value = typed
    await state.update_data({field: value})
    if field == "name":
        await state.set_state(TemplateForm.text)
        await message.answer(_("Now send the text of the message."))
    else:
        await state.set_state(TemplateForm.format)
        await message.answer(
            length_text(value) + "\n\n" + _("Which kind of message is it for?"),
            reply_markup=format_keyboard(),
        )


@router.callback_query(TemplateForm.format, TpFormat.filter(F.format == MORE), flags=OPERATOR_FLAGS)
async def more_formats(query: CallbackQuery) -> None:
    await show(query, _("Which kind of message is it for?"), format_keyboard(every=True))


@router.callback_query(TemplateForm.format, TpFormat.filter(F.format != MORE), flags=OPERATOR_FLAGS)
async def chose_format(
    query: CallbackQuery, callback_data: TpFormat, state: FSMContext, smsc: SmscClient
) -> None:
    value = "" if callback_data.format == "none" else callback_data.format
    try:
        fmt = TemplateFormat(value)
    except ValueError:
        raise StaleButton("unknown template format") from None
    approved = await smsc.get_approved_senders()
    # The offered names are kept with the wizard, so a button pressed after a restart still
    # finds its name without asking SMSC again.
    await state.update_data(format=fmt.value, senders={str(s.id): s.name for s in approved})
    await state.set_state(TemplateForm.sender)
    # A digital name has up to 15 digits: too long for three a row.
    names = [button(s.name, TpSender(id=s.id)) for s in approved]
    markup = keyboard(names, phone_width(names), [button(_("No sender name"), TpSender(id=0))])
    text = _("Format: {format}.").format(format=esc(format_text(fmt.value))) + "\n"
    text += (
        _("Which sender name should the template use?")
        if approved
        else _("Your account has no approved sender names yet, so the template will have none.")
    )
    await show(query, text, markup)


@router.callback_query(TemplateForm.sender, TpSender.filter())
async def chose_sender(query: CallbackQuery, callback_data: TpSender, state: FSMContext) -> None:
    data = await state.get_data()
    offered: dict[str, str] = data.get("senders", {})
    if callback_data.id and str(callback_data.id) not in offered:
        raise StaleButton("sender button from another wizard")
    sender = offered.get(str(callback_data.id), "")
    await state.update_data(sender=sender)
    await state.set_state(TemplateForm.autosign)
    chosen = (
        _("Sender name: {sender}.").format(sender=esc(sender)) if sender else _("No sender name.")
    )
    await show(
        query,
        chosen
        + "\n"
        + _(
            "Tap Save. Or, to add this text to the end of every message you send, "
            "Save as signature."
        ),
        sign_keyboard(),
    )


@router.callback_query(TemplateForm.autosign, TpSign.filter(), flags=OPERATOR_FLAGS)
async def chose_sign(
    query: CallbackQuery,
    callback_data: TpSign,
    state: FSMContext,
    smsc: SmscClient,
    audit: AuditLog,
) -> None:
    data = await state.get_data()
    name, text = str(data.get("name", "")), str(data.get("text", ""))
    fmt, sender = TemplateFormat(str(data.get("format", ""))), str(data.get("sender", ""))
    # An attempt SMSC did not answer may have made the template: pressing again must not make a
    # second copy (SMSC allows several templates with one name).
    made = (
        await same_template(smsc, name, text, fmt, sender, callback_data.yes)
        if data.get("tried")
        else None
    )
    found = made

    async def add_once() -> int:
        if found is not None:
            return found
        await state.update_data(tried=True)
        return await smsc.add_template(
            name, text, format=fmt, sender=sender or None, autosign=callback_data.yes
        )

    try:
        made = await audited(
            audit, chat_of(query), query.from_user.id, "template.add", name, add_once()
        )
    except SmscError as exc:
        # SMSC answered: nothing was made.
        await state.update_data(tried=False)
        # The wizard stays at this step: pressing Yes or No again repeats the request.
        await show(
            query,
            explain(exc) + "\n" + _("Tap a button to try again, or /cancel."),
            sign_keyboard(),
        )
        return
    await state.clear()
    await show(
        query,
        _("Template <b>{name}</b> added.").format(name=esc(name)),
        open_markup(made),
    )


async def same_template(
    smsc: SmscClient, name: str, text: str, fmt: TemplateFormat, sender: str, autosign: bool
) -> int | None:
    """The id of a template with exactly these settings, if the account has one."""
    wanted = (name, text, fmt.value, sender, autosign)
    return next(
        (
            t.id
            for t in await smsc.get_templates()
            if (t.name, t.message, t.format, t.sender, t.autosign) == wanted
        ),
        None,
    )
