"""/senders: sender names with their moderation and per-operator statuses, adding, the code that
confirms a digital name, comments and deletion."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any, Final

from aiogram import Bot, F, Router
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
from bot.phones import DEFAULT_REGION, display_stored
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import OperatorStatus, Sender, SenderOperators, SenderStatus, is_phone_name
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.text import clean
from bot.ui import NOT_COMMAND, Cf, chat_of, confirm_keyboard, esc, not_command, pager_row, rows
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.confirm import Asked, cancel, claim, perform

router = Router(name="senders")

PAGE_SIZE: Final = 20
COMMENT_LIMIT: Final = 500
# SMSC sends another confirmation code to the same number 8 hours after the previous one.
CODE_INTERVAL: Final = 8 * 3600
CODES_DESTINY: Final = "sn_codes"

# What SMSC accepts as a name: up to 11 Latin letters, digits and these signs (at least one
# letter), or a digital name of up to 15 digits. Only 10 digits or more make a phone number.
_ALPHA_NAME = re.compile(r"^[A-Za-z0-9 .\-_!?&']{1,11}$")
_DIGITAL_NAME = re.compile(r"^\d{1,15}$")
_CODE = re.compile(r"^\d{3,10}$")


STATUS_WORDS: Final = {
    SenderStatus.MODERATION: N_("awaiting moderation"),
    SenderStatus.APPROVED: N_("approved"),
    SenderStatus.DISABLED: N_("disabled"),
}
STATUS_MARKS: Final = {
    SenderStatus.MODERATION: "⏳",
    SenderStatus.APPROVED: "✅",
    SenderStatus.DISABLED: "⛔",
}
OPERATOR_STATUS_WORDS: Final = {
    OperatorStatus.AWAITING: N_("awaiting registration"),
    OperatorStatus.SUBMITTED: N_("sent for registration"),
    OperatorStatus.APPROVED: N_("approved by the operator"),
    OperatorStatus.REJECTED: N_("rejected by the operator"),
    OperatorStatus.SUSPENDED: N_("temporarily disabled"),
    OperatorStatus.NO_FUNDS: N_("not enough money on the account"),
    OperatorStatus.DOCUMENTS_NEEDED: N_("supporting documents needed"),
    OperatorStatus.FROM_MONTH_START: N_("activated from the start of the month"),
    OperatorStatus.DEREGISTERING: N_("approved, marked for deregistration"),
}
# The page names the per-operator fields but not what each one is; the labels are our reading.
# Bare ``tele2`` and ``motiv`` sit beside ``tele2_step`` and ``motiv_step``, so they keep their key.
OPERATOR_LABELS: Final = {
    "mts_step": N_("MTS"),
    "mega_step": N_("MegaFon"),
    "bee_step": N_("Beeline"),
    "tele2_step": N_("Tele2"),
    "tele2": N_("Tele2 (tele2)"),
    "motiv_step": N_("Motiv"),
    "motiv": N_("Motiv (motiv)"),
    "sber_step": N_("SberMobile"),
    "winmob_step": N_("Win Mobile"),
    "volnamob_step": N_("Volna Mobile"),
    "ua_reg": N_("Ukraine"),
    "by_reg": N_("Belarus"),
    "mts_int": N_("MTS, international"),
    "mega_int": N_("MegaFon, international"),
    "tele2_int": N_("Tele2, international"),
    "motiv_int": N_("Motiv, international"),
    "sber_int": N_("SberMobile, international"),
    "ua_int": N_("Ukraine, international"),
    "by_int": N_("Belarus, international"),
}


class SenderForm(StatesGroup):
    name = State()
    comment = State()


class SenderComment(StatesGroup):
    text = State()


class SenderCode(StatesGroup):
    code = State()


class SnList(CallbackData, prefix="snl"):
    page: int = 0


class SnCard(CallbackData, prefix="snc"):
    id: int


class SnAct(CallbackData, prefix="sna"):
    """``action``: add, cmt, del, code (send one), enter (type one); ``name`` only for codes."""

    action: str
    id: int = 0
    name: str = ""


def status_text(status: SenderStatus | None) -> str:
    if status is None:
        return _("status unknown")
    return _(STATUS_WORDS[status])


def operator_status_text(code: int) -> str:
    try:
        return _(OPERATOR_STATUS_WORDS[OperatorStatus(code)])
    except ValueError:
        return _("status {code}").format(code=code)


def operator_label(key: str) -> str:
    label = OPERATOR_LABELS.get(key)
    return _(label) if label is not None else key


def valid_name(name: str) -> bool:
    if _DIGITAL_NAME.match(name):
        return True
    return bool(_ALPHA_NAME.match(name)) and any(ch.isalpha() for ch in name)


def phone_text(name: str) -> str:
    return display_stored(name, DEFAULT_REGION)


# -- list and card -------------------------------------------------------------------------------


def list_view(senders: list[Sender], page: int) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-len(senders) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = senders[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    if not senders:
        text = _("You have no sender names yet.")
    else:
        lines = [
            ngettext(
                "<b>{n} sender name</b>. Tap one for its status at each operator.",
                "<b>{n} sender names</b>. Tap one for its status at each operator.",
                len(senders),
            ).format(n=len(senders))
        ]
        lines += [f"{esc(s.name)} — {esc(status_text(s.status))}" for s in shown]
        text = "\n".join(lines)
    buttons = [
        InlineKeyboardButton(
            text=f"{STATUS_MARKS[s.status] if s.status is not None else '•'} {s.name}",
            callback_data=SnCard(id=s.id).pack(),
        )
        for s in shown
    ]
    keyboard = rows(buttons)
    if pages > 1:
        keyboard.append(
            pager_row(
                SnList(page=page - 1) if page > 0 else None,
                SnList(page=page + 1) if page < pages - 1 else None,
                f"{page + 1}/{pages}",
            )
        )
    keyboard.append(
        [InlineKeyboardButton(text=_("Add a name"), callback_data=SnAct(action="add").pack())]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


@router.message(Command("senders"), flags={ACCOUNT_FLAG: True})
async def cmd_senders(message: Message, state: FSMContext, smsc: SmscClient) -> None:
    await state.clear()
    text, markup = list_view(await smsc.get_senders(), 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(SnList.filter(), flags={ACCOUNT_FLAG: True})
async def list_page(query: CallbackQuery, callback_data: SnList, smsc: SmscClient) -> None:
    text, markup = list_view(await smsc.get_senders(), callback_data.page)
    await show(query, text, markup)


def card_view(
    sender: Sender, operators: SenderOperators | None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        f"<b>{esc(sender.name)}</b>",
        _("Status: {status}").format(status=esc(status_text(sender.status))),
    ]
    if sender.is_phone:
        lines.append(_("A digital name: the phone number is confirmed with a code sent to it."))
    lines.append("")
    if operators is None or not (operators.statuses or operators.replacements):
        lines.append(_("No operator has a registration status for this name yet."))
    else:
        lines.append(_("At the operators:"))
        for key in dict.fromkeys([*operators.statuses, *operators.replacements]):
            parts = []
            if key in operators.statuses:
                parts.append(operator_status_text(operators.statuses[key]))
            if key in operators.replacements:
                parts.append(_("replaced by {name}").format(name=operators.replacements[key]))
            lines.append(f"{esc(operator_label(key))}: {esc(', '.join(parts))}")
    keyboard: list[list[InlineKeyboardButton]] = []
    # senders.php sends codes to phone numbers only: a short numeric name gets error 7.
    if sender.is_phone and sender.status != SenderStatus.APPROVED:
        keyboard.append(
            [
                InlineKeyboardButton(
                    text=_("Send a code"),
                    callback_data=SnAct(action="code", id=sender.id, name=sender.name).pack(),
                ),
                InlineKeyboardButton(
                    text=_("I have a code"),
                    callback_data=SnAct(action="enter", id=sender.id, name=sender.name).pack(),
                ),
            ]
        )
    keyboard.append(
        [
            InlineKeyboardButton(
                text=_("Change the comment"),
                callback_data=SnAct(action="cmt", id=sender.id).pack(),
            ),
            InlineKeyboardButton(
                text=_("Delete"), callback_data=SnAct(action="del", id=sender.id).pack()
            ),
        ]
    )
    keyboard.append(
        [InlineKeyboardButton(text="« " + _("All names"), callback_data=SnList().pack())]
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=keyboard)


async def load_card(smsc: SmscClient, sender_id: int) -> tuple[str, InlineKeyboardMarkup] | None:
    sender = next((s for s in await smsc.get_senders() if s.id == sender_id), None)
    if sender is None:
        return None
    operators = next((o for o in await smsc.get_sender_operators() if o.id == sender_id), None)
    return card_view(sender, operators)


def gone_view() -> tuple[str, InlineKeyboardMarkup]:
    return _("This sender name no longer exists."), InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="« " + _("All names"), callback_data=SnList().pack())]
        ]
    )


@router.callback_query(SnCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(query: CallbackQuery, callback_data: SnCard, smsc: SmscClient) -> None:
    view = await load_card(smsc, callback_data.id) or gone_view()
    await show(query, *view)


# -- adding a name -------------------------------------------------------------------------------


def name_rules() -> str:
    return esc(
        _(
            "A name is up to 11 Latin letters, digits, spaces and the signs . - _ ! ? & ' "
            "(with at least one letter), or a phone number of up to 15 digits."
        )
    )


@router.callback_query(SnAct.filter(F.action == "add"))
async def start_add(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await state.clear()
    await state.set_state(SenderForm.name)
    await bot.send_message(
        chat_of(query),
        _("Send the new sender name.") + "\n" + name_rules() + "\n" + _("/cancel to stop."),
    )


@router.message(SenderForm.name, NOT_COMMAND)
async def got_name(message: Message, state: FSMContext) -> None:
    name = (message.text or "").strip()
    if not valid_name(name):
        await message.answer(
            _("<b>{name}</b> cannot be a sender name.").format(name=esc(name[:40]))
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


@router.message(SenderForm.comment, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_comment(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    comment = clean(message.text or "", multiline=True).strip()
    if not comment or len(comment) > COMMENT_LIMIT:
        await message.answer(
            _("The comment must be 1 to {limit} characters. Send it again.").format(
                limit=COMMENT_LIMIT
            )
        )
        return
    name = str((await state.get_data()).get("name", ""))
    try:
        sender_id = await smsc.add_sender(name, comment=comment)
    except SmscError as exc:
        await audit.record(
            message.chat.id, user_id(message), "sender.add", name, f"error {exc.code}"
        )
        if exc.code in (1, 5):
            # The name itself was refused (or exists already): ask for another, keep the wizard.
            await state.set_state(SenderForm.name)
            await message.answer(
                _("SMSC did not accept the name <b>{name}</b>: it may exist already.").format(
                    name=esc(name)
                )
                + "\n"
                + _("Send another name, or /cancel.")
            )
            return
        await message.answer(explain(exc) + "\n" + _("Send the comment again, or /cancel."))
        return
    await state.clear()
    await audit.record(message.chat.id, user_id(message), "sender.add", name, "ok")
    lines = [
        _("Sender name <b>{name}</b> added. SMSC's moderators will check it.").format(
            name=esc(name)
        )
    ]
    buttons = [InlineKeyboardButton(text=_("Open"), callback_data=SnCard(id=sender_id).pack())]
    if is_phone_name(name):
        lines.append(_("It is a phone number: confirm it with a code sent to that number."))
        buttons.insert(
            0,
            InlineKeyboardButton(
                text=_("Send a code"),
                callback_data=SnAct(action="code", id=sender_id, name=name).pack(),
            ),
        )
    await message.answer(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons])
    )


# -- comment -------------------------------------------------------------------------------------


@router.callback_query(SnAct.filter(F.action == "cmt"))
async def start_comment(
    query: CallbackQuery, callback_data: SnAct, state: FSMContext, bot: Bot
) -> None:
    await state.clear()
    await state.set_state(SenderComment.text)
    await state.update_data(id=callback_data.id)
    prompt = _("Send the new comment for this sender name, or /cancel.")
    if isinstance(query.message, Message):
        # A reply, so the card above shows which name the comment is for.
        await query.message.reply(prompt)
    else:
        await bot.send_message(chat_of(query), prompt)


@router.message(SenderComment.text, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_new_comment(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    comment = clean(message.text or "", multiline=True).strip()
    if not comment or len(comment) > COMMENT_LIMIT:
        await message.answer(
            _("The comment must be 1 to {limit} characters. Send it again.").format(
                limit=COMMENT_LIMIT
            )
        )
        return
    sender_id = int((await state.get_data()).get("id", 0))
    try:
        await smsc.change_sender(sender_id=sender_id, comment=comment)
    except SmscError as exc:
        await audit.record(
            message.chat.id, user_id(message), "sender.comment", str(sender_id), f"error {exc.code}"
        )
        if exc.code == 3:
            await state.clear()
            await message.answer(_("This sender name no longer exists."))
            return
        await message.answer(explain(exc) + "\n" + _("Send the comment again, or /cancel."))
        return
    await state.clear()
    await audit.record(message.chat.id, user_id(message), "sender.comment", str(sender_id), "ok")
    await message.answer(
        _("Comment saved."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("Open"), callback_data=SnCard(id=sender_id).pack())]
            ]
        ),
    )


# -- deleting ------------------------------------------------------------------------------------


@router.callback_query(SnAct.filter(F.action == "del"), flags={ACCOUNT_FLAG: True})
async def ask_delete(
    query: CallbackQuery,
    callback_data: SnAct,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    card = query.message.html_text if isinstance(query.message, Message) else ""
    # The question goes under the card itself, so the name being deleted is in plain sight.
    first_line = card.split("\n", 1)[0]
    question = _("Delete this sender name? Messages can no longer be sent from it.")
    record_id = await confirmations.ask(
        chat_id=chat_of(query),
        account=account_key(account),
        action="sndel",
        payload={"sender": str(callback_data.id)},
        asked_by=query.from_user.id,
        ttl=CHANGE_TTL,
    )
    await show(
        query,
        f"{first_line}\n\n{question}" if first_line else question,
        confirm_keyboard(record_id, yes=_("Yes, delete")),
    )


@router.callback_query(Cf.filter(), Asked("sndel"), flags={ACCOUNT_FLAG: True})
async def confirm_delete(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    sender_id = int(asked.payload.get("sender", "0"))
    back = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="« " + _("All names"), callback_data=SnList().pack())]
        ]
    )
    if not callback_data.yes:
        if await cancel(query, asked, confirmations, back):
            view = await load_card(smsc, sender_id) or gone_view()
            await show(query, *view)
        return
    record = await claim(query, asked, confirmations, account, back)
    if record is None:
        return
    try:
        done = await perform(
            query,
            confirmations,
            audit,
            record,
            lambda: smsc.delete_sender(sender_id=sender_id),
            what="sender.delete",
            target=str(sender_id),
            check=back,
        )
    except SmscError as exc:
        await show(query, explain(exc), back)
        return
    if done:
        await show(query, _("The sender name is deleted."), back)


# -- confirmation code ---------------------------------------------------------------------------


def codes_state(state: FSMContext) -> FSMContext:
    """When codes went out, per name: kept apart from the wizard so /cancel cannot forget it."""
    return FSMContext(state.storage, dataclasses.replace(state.key, destiny=CODES_DESTINY))


def wait_text(seconds: float) -> str:
    total = max(1, int(seconds + 59) // 60)
    hours, mins = divmod(total, 60)
    parts = []
    if hours:
        parts.append(ngettext("{n} hour", "{n} hours", hours).format(n=hours))
    if mins:
        parts.append(ngettext("{n} minute", "{n} minutes", mins).format(n=mins))
    return " ".join(parts)


def enter_code_keyboard(sender_id: int, name: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("I have a code"),
                    callback_data=SnAct(action="enter", id=sender_id, name=name).pack(),
                )
            ]
        ]
    )


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


@router.callback_query(SnAct.filter(F.action == "code"), flags={ACCOUNT_FLAG: True})
async def send_code(
    query: CallbackQuery,
    callback_data: SnAct,
    state: FSMContext,
    smsc: SmscClient,
    audit: AuditLog,
    bot: Bot,
) -> None:
    name = callback_data.name
    if not name.isdigit():
        raise StaleButton("malformed code button")
    chat_id = chat_of(query)
    try:
        await smsc.send_sender_code(name)
    except SmscError as exc:
        await audit.record(
            chat_id, query.from_user.id, "sender.send_code", name, f"error {exc.code}"
        )
        if exc.code == 10:
            await bot.send_message(
                chat_id,
                await code_already_sent(state, name),
                reply_markup=enter_code_keyboard(callback_data.id, name),
            )
        elif exc.code == 8:
            await bot.send_message(
                chat_id,
                explain(exc)
                + "\n"
                + _("Check that the number can receive SMS, or ask SMSC's support to confirm it."),
            )
        else:
            await bot.send_message(chat_id, explain(exc))
        return
    await audit.record(chat_id, query.from_user.id, "sender.send_code", name, "ok")
    codes = codes_state(state)
    now = time.time()
    sent = {k: v for k, v in (await codes.get_data()).items() if now - float(v) < CODE_INTERVAL}
    sent[name] = now
    await codes.set_data(sent)
    await state.clear()
    await state.set_state(SenderCode.code)
    await state.update_data(id=callback_data.id, name=name)
    await bot.send_message(
        chat_id,
        _("SMSC sent a code by SMS to {phone}. Send the code here, or /cancel.").format(
            phone=esc(phone_text(name))
        ),
    )


@router.callback_query(SnAct.filter(F.action == "enter"))
async def start_enter_code(
    query: CallbackQuery, callback_data: SnAct, state: FSMContext, bot: Bot
) -> None:
    if not callback_data.name.isdigit():
        raise StaleButton("malformed code button")
    await state.clear()
    await state.set_state(SenderCode.code)
    await state.update_data(id=callback_data.id, name=callback_data.name)
    await bot.send_message(
        chat_of(query),
        _("Send the code that came to {phone}, or /cancel.").format(
            phone=esc(phone_text(callback_data.name))
        ),
    )


@router.message(SenderCode.code, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_code(message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog) -> None:
    code = re.sub(r"[\s-]", "", message.text or "")
    if not _CODE.match(code):
        await message.answer(_("A code is only digits. Send it again, or /cancel."))
        return
    data = await state.get_data()
    name, sender_id = str(data.get("name", "")), int(data.get("id", 0))
    try:
        await smsc.check_sender_code(name, code)
    except SmscError as exc:
        await audit.record(
            message.chat.id, user_id(message), "sender.check_code", name, f"error {exc.code}"
        )
        if exc.code == 3:
            await state.clear()
            await message.answer(_("This sender name no longer exists."))
            return
        # Error 11 (a wrong code) and the rest: the user may simply try again.
        await message.answer(explain(exc) + "\n" + _("/cancel to stop."))
        return
    await state.clear()
    await audit.record(message.chat.id, user_id(message), "sender.check_code", name, "ok")
    await message.answer(
        _("The number {phone} is confirmed.").format(phone=esc(phone_text(name))),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("Open"), callback_data=SnCard(id=sender_id).pack())]
            ]
        ),
    )


# -- anything else inside the conversations --------------------------------------------------------


@router.message(SenderForm.name, not_command)
@router.message(SenderForm.comment, not_command)
@router.message(SenderComment.text, not_command)
@router.message(SenderCode.code, not_command)
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))
