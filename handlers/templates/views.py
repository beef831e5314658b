"""Texts and keyboards of /templates."""

from __future__ import annotations

from typing import Final

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.commands import N_
from bot.smsc.models import Template, TemplateFormat
from bot.text import clip, sms_length
from bot.ui import button, esc, keyboard
from handlers.common import home_button, list_screen
from handlers.templates.data import TpAct, TpAction, TpCard, TpFormat, TpList, TpSign

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


def format_text(value: str) -> str:
    try:
        return _(FORMAT_WORDS[TemplateFormat(value)])
    except ValueError:
        return value


def label(text: str) -> str:
    """``text`` on one line, clipped for a button or a list line."""
    return clip(" ".join(text.split()), BUTTON_LABEL)


def back_markup() -> InlineKeyboardMarkup:
    return keyboard([button("« " + _("All templates"), TpList())])


def open_markup(template_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(_("Open"), TpCard(id=template_id))])


def list_view(templates: list[Template], number: int) -> tuple[str, InlineKeyboardMarkup]:
    return list_screen(
        templates,
        number,
        title=ngettext(
            "<b>{n} template</b>. Tap one to see its text.",
            "<b>{n} templates</b>. Tap one to see its text.",
            len(templates),
        ).format(n=len(templates)),
        line=lambda t: (t.name, label(t.message)),
        button=lambda t: button(label(t.name) or str(t.id), TpCard(id=t.id)),
        empty=_("You have no message templates yet."),
        at=lambda n: TpList(page=n),
        add=button(_("Add a template"), TpAct(action=TpAction.ADD)),
    )


def card_text(template: Template) -> str:
    lines = [
        f"<b>{esc(template.name)}</b>",
        _("Format: {format}").format(format=esc(format_text(template.format))),
        _("Sender name: {sender}").format(
            sender=esc(template.sender) if template.sender else _("none")
        ),
        _("Auto-signature: {answer}").format(answer=_("yes") if template.autosign else _("no")),
        length_text(template.message) if template.message else "",
        "",
        esc(template.message) if template.message else _("(no text)"),
    ]
    return "\n".join(lines)


def card_markup(template_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("Rename"), TpAct(action=TpAction.NAME, id=template_id)),
                button(_("New text"), TpAct(action=TpAction.TEXT, id=template_id)),
            ],
            [button(_("Delete"), TpAct(action=TpAction.DELETE, id=template_id))],
            [button("« " + _("All templates"), TpList()), home_button()],
        ]
    )


# The formats asked first; the rest behind "Other formats".
COMMON_FORMATS: Final = (TemplateFormat.SMS, TemplateFormat.VIBER, TemplateFormat.MAIL)
# TpFormat's value for "show the other formats" (not a format SMSC knows).
MORE: Final = "more"


def format_keyboard(every: bool = False) -> InlineKeyboardMarkup:
    """SMS, Viber, e-mail and "Other formats"; with ``every``, the rest too ("not set" last)."""
    if not every:
        shown = [button(_(FORMAT_WORDS[f]), TpFormat(format=f.value)) for f in COMMON_FORMATS]
        return keyboard(shown, 3, [button(_("Other formats") + " ›", TpFormat(format=MORE))])
    rest: list[TemplateFormat] = [
        f for f in FORMAT_WORDS if f not in COMMON_FORMATS and f is not TemplateFormat.NONE
    ]
    rest.append(TemplateFormat.NONE)
    return keyboard(
        [button(_(FORMAT_WORDS[f]), TpFormat(format=f.value or "none")) for f in rest], 2
    )


def length_text(text: str) -> str:
    """The text's length as SMS: characters and parts, and the rule that counted them."""
    size = sms_length(text)
    rule = (
        _("in Cyrillic and other non-Latin text an SMS holds 70 characters, 67 in each part")
        if size.unicode
        else _("in Latin text an SMS holds 160 characters, 153 in each part")
    )
    return ngettext(
        "Length: {chars} characters, {n} SMS ({rule}).",
        "Length: {chars} characters, {n} SMS ({rule}).",
        size.parts,
    ).format(chars=size.units, n=size.parts, rule=rule)


def sign_keyboard() -> InlineKeyboardMarkup:
    """Save, or save as the auto-signature: a choice only for those who want one."""
    return keyboard(
        [button(_("Save"), TpSign(yes=False)), button(_("Save as signature"), TpSign(yes=True))]
    )
