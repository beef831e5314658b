"""/templates: message templates; a card with the full text, a wizard to add one, renaming,
new text and deletion."""

from __future__ import annotations

import time
from typing import Any, Final

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.commands import N_
from bot.errors import StaleButton, explain
from bot.middlewares import ACCOUNT_FLAG
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import Template, TemplateFormat
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.text import clean
from bot.ui import NOT_COMMAND, Cf, confirm_keyboard, esc, not_command, pager_row, rows, split_text
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.confirm import Asked, cancel, claim, perform

router = Router(name="templates")

PAGE_SIZE: Final = 20
NAME_LIMIT: Final = 100
# The template's text must fit one Telegram message together with its card.
TEXT_LIMIT: Final = 3500
BUTTON_LABEL: Final = 40


FORMAT_WORDS: Final = {
    TemplateFormat.NONE: N_("not set"),
    TemplateFormat.SMS: N_("SMS"),
    TemplateFormat.FLASH: N_("Flash SMS"),
    TemplateFormat.BIN: N_("binary SMS"),
    TemplateFormat.PUSH: N_("WAP push"),
    TemplateFormat.MMS: N_("MMS"),
    TemplateFormat.CALL: N_("voice call"),
    TemplateFormat.MAIL: N_("e-mail"),
    TemplateFormat.VIBER: N_("Viber"),
}


class TemplateForm(StatesGroup):
    name = State()
    text = State()
    format = State()
    sender = State()
    autosign = State()


# A change begun within this many seconds of its card uses the card's fields without a new read.
CARD_FRESH: Final = 60.0


class TemplateEdit(StatesGroup):
    name = State()
    text = State()


class TpList(CallbackData, prefix="tpl"):
    page: int = 0


class TpCard(CallbackData, prefix="tpc"):
    id: int


class TpAct(CallbackData, prefix="tpa"):
    """``action``: add, name, text, del."""

    action: str
    id: int = 0


class TpFormat(CallbackData, prefix="tpf"):
    format: str


class TpSender(CallbackData, prefix="tps"):
    """A sender name offered in the wizard, by id; 0 is "no sender name"."""

    id: int


class TpSign(CallbackData, prefix="tpg"):
    yes: bool


def format_text(value: str) -> str:
    try:
        return _(FORMAT_WORDS[TemplateFormat(value)])
    except ValueError:
        return value


def label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BUTTON_LABEL else text[: BUTTON_LABEL - 1] + "…"


def chat_id(query: CallbackQuery) -> int:
    return query.message.chat.id if query.message is not None else query.from_user.id


def back_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="« " + _("All templates"), callback_data=TpList().pack())]
        ]
    )


def open_markup(template_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Open"), callback_data=TpCard(id=template_id).pack())]
        ]
    )


# -- list and card -------------------------------------------------------------------------------


def list_view(templates: list[Template], page: int) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-len(templates) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = templates[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    if not templates:
        text = _("You have no message templates yet.")
    else:
        lines = [
            ngettext(
                "<b>{n} template</b>. Tap one to see its text.",
                "<b>{n} templates</b>. Tap one to see its text.",
                len(templates),
            ).format(n=len(templates))
        ]
        lines += [f"{esc(t.name)} — {esc(label(t.message))}" for t in shown]
        text = "\n".join(lines)
    keyboard = rows(
        [
            InlineKeyboardButton(
                text=label(t.name) or str(t.id), callback_data=TpCard(id=t.id).pack()
            )
            for t in shown
        ]
    )
    if pages > 1:
        keyboard.append(
            pager_row(
                TpList(page=page - 1) if page > 0 else None,
                TpList(page=page + 1) if page < pages - 1 else None,
                f"{page + 1}/{pages}",
            )
        )
    keyboard.append(
        [InlineKeyboardButton(text=_("Add a template"), callback_data=TpAct(action="add").pack())]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


@router.message(Command("templates"), flags={ACCOUNT_FLAG: True})
async def cmd_templates(message: Message, state: FSMContext, smsc: SmscClient) -> None:
    await state.clear()
    text, markup = list_view(await smsc.get_templates(), 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(TpList.filter(), flags={ACCOUNT_FLAG: True})
async def list_page(query: CallbackQuery, callback_data: TpList, smsc: SmscClient) -> None:
    text, markup = list_view(await smsc.get_templates(), callback_data.page)
    await show(query, text, markup)


def card_text(template: Template) -> str:
    lines = [
        f"<b>{esc(template.name)}</b>",
        _("Format: {format}").format(format=esc(format_text(template.format))),
        _("Sender name: {sender}").format(
            sender=esc(template.sender) if template.sender else _("none")
        ),
        _("Auto-signature: {answer}").format(answer=_("yes") if template.autosign else _("no")),
        "",
        esc(template.message) if template.message else _("(no text)"),
    ]
    return "\n".join(lines)


def card_markup(template_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Rename"), callback_data=TpAct(action="name", id=template_id).pack()
                ),
                InlineKeyboardButton(
                    text=_("New text"), callback_data=TpAct(action="text", id=template_id).pack()
                ),
            ],
            [
                InlineKeyboardButton(
                    text=_("Delete"), callback_data=TpAct(action="del", id=template_id).pack()
                )
            ],
            [InlineKeyboardButton(text="« " + _("All templates"), callback_data=TpList().pack())],
        ]
    )


@router.callback_query(TpCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery,
    callback_data: TpCard,
    smsc: SmscClient,
    state: FSMContext | None = None,
) -> None:
    template = next((t for t in await smsc.get_templates() if t.id == callback_data.id), None)
    if template is None:
        await show(query, _("This template no longer exists."), back_markup())
        return
    if state is not None:
        await remember(state, template)
    parts = split_text(card_text(template))
    # A text longer than one message: the card edits in place, the rest follows with the buttons.
    await show(query, parts[0], card_markup(template.id) if len(parts) == 1 else None)
    if len(parts) > 1 and query.bot is not None:
        for index, part in enumerate(parts[1:], start=2):
            await query.bot.send_message(
                chat_id(query),
                part,
                reply_markup=card_markup(template.id) if index == len(parts) else None,
            )


# -- adding a template ---------------------------------------------------------------------------


@router.callback_query(TpAct.filter(F.action == "add"))
async def start_add(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(TemplateForm.name)
    if query.bot is not None:
        await query.bot.send_message(
            chat_id(query), _("Send a name for the new template, or /cancel.")
        )


async def check_name(message: Message) -> str | None:
    name = " ".join(clean(message.text or "").split())
    if not name or len(name) > NAME_LIMIT:
        await message.answer(
            _("A template name is 1 to {limit} characters. Send it again, or /cancel.").format(
                limit=NAME_LIMIT
            )
        )
        return None
    return name


async def check_text(message: Message) -> str | None:
    text = (message.text or "").strip()
    if not text or len(text) > TEXT_LIMIT:
        await message.answer(
            _("A template text is 1 to {limit} characters. Send it again, or /cancel.").format(
                limit=TEXT_LIMIT
            )
        )
        return None
    return text


@router.message(TemplateForm.name, NOT_COMMAND)
async def got_name(message: Message, state: FSMContext) -> None:
    name = await check_name(message)
    if name is None:
        return
    await state.update_data(name=name)
    await state.set_state(TemplateForm.text)
    await message.answer(_("Now send the text of the message."))


def format_keyboard() -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=_(words), callback_data=TpFormat(format=fmt.value or "none").pack()
        )
        for fmt, words in FORMAT_WORDS.items()
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows(buttons, 3))


@router.message(TemplateForm.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext) -> None:
    text = await check_text(message)
    if text is None:
        return
    await state.update_data(text=text)
    await state.set_state(TemplateForm.format)
    await message.answer(_("Which kind of message is it for?"), reply_markup=format_keyboard())


@router.callback_query(TemplateForm.format, TpFormat.filter(), flags={ACCOUNT_FLAG: True})
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
    buttons = [
        InlineKeyboardButton(text=s.name, callback_data=TpSender(id=s.id).pack()) for s in approved
    ]
    keyboard = rows(buttons, 3)
    keyboard.append(
        [InlineKeyboardButton(text=_("No sender name"), callback_data=TpSender(id=0).pack())]
    )
    text = _("Format: {format}.").format(format=esc(format_text(fmt.value))) + "\n"
    text += (
        _("Which sender name should the template use?")
        if approved
        else _("Your account has no approved sender names yet, so the template will have none.")
    )
    await show(query, text, InlineKeyboardMarkup(inline_keyboard=keyboard))


def sign_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("Yes"), callback_data=TpSign(yes=True).pack()),
                InlineKeyboardButton(text=_("No"), callback_data=TpSign(yes=False).pack()),
            ]
        ]
    )


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
        chosen + "\n" + _("Use this template as the auto-signature added to your messages?"),
        sign_keyboard(),
    )


@router.callback_query(TemplateForm.autosign, TpSign.filter(), flags={ACCOUNT_FLAG: True})
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
    try:
        if made is None:
            await state.update_data(tried=True)
            made = await smsc.add_template(
                name, text, format=fmt, sender=sender or None, autosign=callback_data.yes
            )
    except SmscError as exc:
        # SMSC answered: nothing was made.
        await state.update_data(tried=False)
        await audit.record(
            chat_id(query), query.from_user.id, "template.add", name, f"error {exc.code}"
        )
        # The wizard stays at this step: pressing Yes or No again repeats the request.
        await show(
            query,
            explain(exc) + "\n" + _("Press a button to try again, or /cancel."),
            sign_keyboard(),
        )
        return
    await state.clear()
    await audit.record(chat_id(query), query.from_user.id, "template.add", name, "ok")
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


# -- renaming, new text --------------------------------------------------------------------------


async def remember(state: FSMContext, template: Template) -> None:
    """Keep the template as shown, for a change begun from its card within the minute."""
    await state.update_data(card=template.model_dump(), card_at=time.time())


def recalled(data: dict[str, Any], template_id: int) -> Template | None:
    """The template as its card showed it less than CARD_FRESH seconds ago."""
    card, shown_at = data.get("card"), data.get("card_at")
    if not isinstance(card, dict) or card.get("id") != template_id:
        return None
    if not isinstance(shown_at, float) or not 0 <= time.time() - shown_at < CARD_FRESH:
        return None
    try:
        return Template.model_validate(card)
    except ValueError:
        return None


@router.callback_query(TpAct.filter(F.action.in_({"name", "text"})), flags={ACCOUNT_FLAG: True})
async def start_edit(
    query: CallbackQuery, callback_data: TpAct, state: FSMContext, smsc: SmscClient
) -> None:
    # A change sends every field (the page does not promise that left-out ones are kept): they
    # are taken now, as the card just showed them or read afresh, and kept for the conversation.
    template = recalled(await state.get_data(), callback_data.id)
    await state.clear()
    if template is None:
        template = next((t for t in await smsc.get_templates() if t.id == callback_data.id), None)
    if template is None:
        await show(query, _("This template no longer exists."), back_markup())
        return
    await state.update_data(id=callback_data.id, template=template.model_dump())
    if callback_data.action == "name":
        await state.set_state(TemplateEdit.name)
        prompt = _("Send the new name of this template, or /cancel.")
    else:
        await state.set_state(TemplateEdit.text)
        prompt = _("Send the new text of this template, or /cancel.")
    if isinstance(query.message, Message):
        # A reply, so the card above shows which template is being changed.
        await query.message.reply(prompt)
    elif query.bot is not None:
        await query.bot.send_message(chat_id(query), prompt)


async def save_edit(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    audit: AuditLog,
    *,
    name: str | None = None,
    text: str | None = None,
) -> None:
    data = await state.get_data()
    template_id = int(data.get("id", 0))
    action = "template.rename" if name is not None else "template.text"
    try:
        template = Template.model_validate(data["template"])
    except (KeyError, ValueError):
        # A conversation begun before every field was kept: begin it again.
        await state.clear()
        await message.answer(_("This button is out of date. Open the template again."))
        return
    try:
        await smsc.change_template(template, name=name, message=text)
    except SmscError as exc:
        await audit.record(
            message.chat.id, user_id(message), action, str(template_id), f"error {exc.code}"
        )
        if exc.code == 3:
            await state.clear()
            await message.answer(_("This template no longer exists."))
            return
        await message.answer(explain(exc) + "\n" + _("Send it again, or /cancel."))
        return
    await state.clear()
    changes = {"name": name} if name is not None else {"message": text}
    await remember(state, template.model_copy(update=changes))
    await audit.record(message.chat.id, user_id(message), action, str(template_id), "ok")
    await message.answer(_("Saved."), reply_markup=open_markup(template_id))


@router.message(TemplateEdit.name, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_new_name(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    name = await check_name(message)
    if name is not None:
        await save_edit(message, state, smsc, audit, name=name)


@router.message(TemplateEdit.text, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_new_text(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    text = await check_text(message)
    if text is not None:
        await save_edit(message, state, smsc, audit, text=text)


# -- deleting ------------------------------------------------------------------------------------


@router.callback_query(TpAct.filter(F.action == "del"), flags={ACCOUNT_FLAG: True})
async def ask_delete(
    query: CallbackQuery,
    callback_data: TpAct,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    card = query.message.html_text if isinstance(query.message, Message) else ""
    # The question replaces the card under its first line, the template's name.
    first_line = card.split("\n", 1)[0]
    question = _("Delete this template?")
    record_id = await confirmations.ask(
        chat_id=chat_id(query),
        account=account_key(account),
        action="tpdel",
        payload={"template": str(callback_data.id)},
        asked_by=query.from_user.id,
        ttl=CHANGE_TTL,
    )
    await show(
        query,
        f"{first_line}\n\n{question}" if first_line else question,
        confirm_keyboard(record_id, yes=_("Yes, delete")),
    )


@router.callback_query(Cf.filter(), Asked("tpdel"), flags={ACCOUNT_FLAG: True})
async def confirm_delete(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    template_id = int(asked.payload.get("template", "0"))
    if not callback_data.yes:
        if await cancel(query, asked, confirmations, back_markup()):
            await open_card(query, TpCard(id=template_id), smsc)
        return
    record = await claim(query, asked, confirmations, account, back_markup())
    if record is None:
        return
    try:
        done = await perform(
            query,
            confirmations,
            audit,
            record,
            lambda: smsc.delete_template(template_id),
            what="template.delete",
            target=str(template_id),
            check=back_markup(),
        )
    except SmscError as exc:
        await show(query, explain(exc), back_markup())
        return
    if done:
        await show(query, _("The template is deleted."), back_markup())


# -- anything else inside the conversations --------------------------------------------------------


@router.message(TemplateForm.name, not_command)
@router.message(TemplateForm.text, not_command)
@router.message(TemplateEdit.name, not_command)
@router.message(TemplateEdit.text, not_command)
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))


@router.message(TemplateForm.format, not_command)
@router.message(TemplateForm.sender, not_command)
@router.message(TemplateForm.autosign, not_command)
async def expected_button(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /cancel."))
