"""Texts and keyboards of the log-in; no SMSC calls."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.accounts import (
    DEMO_SITE,
    SITES,
    LoginResult,
)
from bot.i18n import fmt_money
from bot.ui import account_text, esc, rows
from handlers.account.data import LoginMethod, LoginSite


def sites_keyboard(demo: bool) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=site, callback_data=LoginSite(site=site).pack()) for site in SITES
    ]
    if demo:
        buttons.append(
            InlineKeyboardButton(
                text=_("Demo account"), callback_data=LoginSite(site=DEMO_SITE).pack()
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=rows(buttons))


def method_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Login and password"), callback_data=LoginMethod(apikey=False).pack()
                ),
                InlineKeyboardButton(
                    text=_("API key"), callback_data=LoginMethod(apikey=True).pack()
                ),
            ]
        ]
    )


def not_a_login_text() -> str:
    return _(
        "This does not look like a login, so I deleted it: it may have been your password. "
        "A login is one word of Latin letters, digits and the signs _ . - @. "
        "Send the login alone."
    )


def logged_in_text(result: LoginResult) -> str:
    return _("Logged in {account}.\nBalance: <b>{balance}</b>").format(
        account=account_text(result.account.login, result.account.site),
        balance=esc(fmt_money(result.balance.balance, result.balance.currency)),
    )
