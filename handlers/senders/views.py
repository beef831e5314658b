"""Texts and keyboards of /senders."""

from __future__ import annotations

from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.commands import N_
from bot.phones import DEFAULT_REGION, display_stored
from bot.sender_words import operator_label, operator_status_text
from bot.smsc.models import Sender, SenderOperators, SenderStatus
from bot.text import clip
from bot.ui import button, esc, keyboard
from handlers.common import home_button, list_screen
from handlers.senders.data import SnAct, SnAction, SnCard, SnList

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


def status_text(status: SenderStatus | None) -> str:
    if status is None:
        return _("status unknown")
    return _(STATUS_WORDS[status])


def phone_text(name: str) -> str:
    return display_stored(name, DEFAULT_REGION)


def name_rules() -> str:
    return esc(
        _(
            "A name is up to 11 Latin letters, digits, spaces and the signs . - _ ! ? & ' "
            "(with at least one letter), or a phone number of up to 15 digits."
        )
    )


def list_view(senders: list[Sender], number: int) -> tuple[str, InlineKeyboardMarkup]:
    return list_screen(
        senders,
        number,
        title=ngettext(
            "<b>{n} sender name</b>. Tap one for its status at each operator.",
            "<b>{n} sender names</b>. Tap one for its status at each operator.",
            len(senders),
        ).format(n=len(senders)),
        line=lambda s: (s.name, status_text(s.status)),
        button=lambda s: button(
            f"{clip(s.name, 21)} {STATUS_MARKS[s.status] if s.status is not None else '•'}",
            SnCard(id=s.id),
        ),
        empty=_("You have no sender names yet."),
        at=lambda n: SnList(page=n),
        add=button(_("Add a name"), SnAct(action=SnAction.ADD)),
    )


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
    rows: list[list[InlineKeyboardButton]] = []
    # senders.php sends codes to phone numbers only: a short numeric name gets error 7.
    if sender.is_phone and sender.status != SenderStatus.APPROVED:
        rows.append(
            [
                code_button(sender.id, sender.name),
                button(
                    _("I have a code"), SnAct(action=SnAction.ENTER, id=sender.id, name=sender.name)
                ),
            ]
        )
    rows.append(
        [
            button(_("Change the comment"), SnAct(action=SnAction.COMMENT, id=sender.id)),
            button(_("Delete"), SnAct(action=SnAction.DELETE, id=sender.id)),
        ]
    )
    rows.append([button("« " + _("All names"), SnList()), home_button()])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def code_button(sender_id: int, name: str) -> InlineKeyboardButton:
    return button(_("Send a code"), SnAct(action=SnAction.CODE, id=sender_id, name=name))


def back_markup() -> InlineKeyboardMarkup:
    return keyboard([button("« " + _("All names"), SnList())])


def open_markup(sender_id: int, *before: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return keyboard([*before, button(_("Open"), SnCard(id=sender_id))], 3)


def gone_view() -> tuple[str, InlineKeyboardMarkup]:
    return _("This sender name no longer exists."), back_markup()


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
    return open_markup(
        sender_id, button(_("I have a code"), SnAct(action=SnAction.ENTER, id=sender_id, name=name))
    )
