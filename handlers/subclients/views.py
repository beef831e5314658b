"""Texts and keyboards of /subclients."""

from __future__ import annotations

from typing import Final

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.commands import N_
from bot.i18n import fmt_money
from bot.services import subclients
from bot.services.subclients import login_ref
from bot.smsc.models import SubclientType
from bot.ui import StAsk, button, esc, keyboard
from handlers.common import home_button, list_screen
from handlers.subclients.data import ScAct, ScAction, ScCard, ScCheck, ScList, ScType

TYPE_NAMES: Final = {
    SubclientType.OWN_TARIFF_OWN_BALANCE: N_("Own tariff and balance"),
    SubclientType.MAIN_TARIFF_OWN_BALANCE: N_("Your tariff, own balance"),
    SubclientType.MAIN_TARIFF_MAIN_BALANCE: N_("Your tariff and balance"),
    SubclientType.MAIN_BALANCE_OWN_TARIFF: N_("Your balance, own tariff"),
    SubclientType.EXTRA_LOGIN: N_("Extra login"),
}
TYPE_HELP: Final = {
    SubclientType.OWN_TARIFF_OWN_BALANCE: N_(
        "Pays from its own balance at its own prices; you top it up."
    ),
    SubclientType.MAIN_TARIFF_OWN_BALANCE: N_(
        "Pays from its own balance at your account's prices; you top it up."
    ),
    SubclientType.MAIN_TARIFF_MAIN_BALANCE: N_(
        "Spends your account's balance at your prices; it cannot be topped up."
    ),
    SubclientType.MAIN_BALANCE_OWN_TARIFF: N_(
        "Spends your account's balance at its own prices; it cannot be topped up."
    ),
    SubclientType.EXTRA_LOGIN: N_("Another login into your own account, sharing everything."),
}


def password_rule() -> str:
    return _(
        "At least 8 characters, no spaces, with three of these four: lower-case letters, "
        "capital letters, digits, symbols."
    )


def login_rule() -> str:
    return _("A login is 1 to 32 Latin letters, digits and the signs _ . - @.")


def type_name(kind: SubclientType) -> str:
    return _(TYPE_NAMES[kind])


def type_help(kind: SubclientType) -> str:
    return _(TYPE_HELP[kind])


def types_text() -> str:
    return "\n".join(
        f"<b>{esc(type_name(kind))}</b>: {esc(type_help(kind))}" for kind in SubclientType
    )


def type_keyboard(ref: str) -> InlineKeyboardMarkup:
    """The types, and Back: to the card (``ref``), or out of the new subclient's wizard."""
    back = ScCard(ref=ref) if ref else ScList()
    return keyboard(
        [button(type_name(kind), ScType(type=kind, ref=ref)) for kind in SubclientType],
        1,
        [button("« " + _("Back"), back)],
    )


def money_text(known: subclients.Known) -> str:
    """A subclient's money in the list: what its own balance holds, or what it spent of yours."""
    if known.own is None:
        return _("created here, no activity yet")
    if known.own:
        return _("balance {amount}").format(amount=fmt_money(known.left, known.currency))
    return _("spent {amount} of your balance").format(amount=fmt_money(known.spent, known.currency))


def back_markup() -> InlineKeyboardMarkup:
    return keyboard([button("« " + _("All subclients"), ScList())])


def open_markup(login: str) -> InlineKeyboardMarkup:
    return keyboard([button(_("Open"), ScCard(ref=login_ref(login)))])


def check_markup(login: str) -> InlineKeyboardMarkup:
    """For a top-up with no answer: see in SMSC's figures whether the money moved."""
    ref = login_ref(login)
    return keyboard(
        [button(_("Check in SMSC"), ScCheck(ref=ref)), button(_("Open"), ScCard(ref=ref))]
    )


def list_view(found: dict[str, subclients.Known], number: int) -> tuple[str, InlineKeyboardMarkup]:
    return list_screen(
        list(found),
        number,
        title=_("<b>Subclients</b>. Tap one to top it up or change it."),
        line=lambda login: (login, money_text(found[login])),
        button=lambda login: button(login, ScCard(ref=login_ref(login))),
        empty=_(
            "No subclients found. SMSC has no command that lists them, so this list shows the "
            "subclients in your statistics and the ones created here."
        ),
        at=lambda n: ScList(page=n),
        add=button(_("Create a subclient"), ScAct(action=ScAction.NEW)),
    )


def card_markup(ref: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("Top up"), ScAct(action=ScAction.PAY, ref=ref)),
                button(_("Statistics"), StAsk(ref=ref)),
            ],
            [
                button(_("Password"), ScAct(action=ScAction.PW, ref=ref)),
                button(_("Type"), ScAct(action=ScAction.TYPE, ref=ref)),
                button(_("Login"), ScAct(action=ScAction.LOGIN, ref=ref)),
            ],
            [button("« " + _("All subclients"), ScList()), home_button()],
        ]
    )
