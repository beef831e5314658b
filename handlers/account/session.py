"""/logout (confirmed through a record) and /balance."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import (
    AccountService,
)
from bot.i18n import fmt_money
from bot.middlewares import ACCOUNT_FLAG
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import SmscClient
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import Cf, confirm_keyboard, esc, show_in_place
from handlers.common import Menu, home_row
from handlers.confirm import Asked, cancel, claim

router = Router(name="account.session")


@router.message(Command("logout"))
async def cmd_logout(
    message: Message, accounts: AccountService, confirmations: ConfirmationService
) -> None:
    account = await accounts.repo.get(message.chat.id)
    if account is None:
        await message.answer(_("You are not logged in."))
        return
    record_id = await confirmations.ask(
        chat_id=message.chat.id,
        account=account_key(account),
        action="logout",
        payload={},
        asked_by=message.from_user.id if message.from_user else None,
        ttl=CHANGE_TTL,
    )
    await message.answer(
        _("Log out and delete the saved SMSC credentials from the bot?"),
        reply_markup=confirm_keyboard(record_id),
    )


@router.callback_query(Cf.filter(), Asked("logout"))
async def confirm_logout(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    if not isinstance(query.message, Message):
        return
    chat_id = query.message.chat.id
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            await query.message.edit_text(_("You stay logged in."))
        return
    # Asked for the account the chat is on now: after a log-in to another one it is out of date.
    record = await claim(query, asked, confirmations, await accounts.repo.get(chat_id))
    if record is None:
        return
    had = await accounts.logout(chat_id)
    await confirmations.finish(record.id, "done")
    await audit.record(chat_id, query.from_user.id, "logout", "", "ok" if had else "none")
    await query.message.edit_text(_("Logged out. The saved credentials are deleted."))


async def balance_text(smsc: SmscClient) -> str:
    balance = await smsc.get_balance()
    lines = [
        _("Balance: <b>{balance}</b>").format(
            balance=esc(fmt_money(balance.balance, balance.currency))
        )
    ]
    if balance.credit:
        lines.append(
            _("Credit limit: {credit}").format(
                credit=esc(fmt_money(balance.credit, balance.currency))
            )
        )
    return "\n".join(lines)


def balance_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[home_row()])


@router.message(Command("balance"), flags={ACCOUNT_FLAG: True})
async def cmd_balance(message: Message, smsc: SmscClient) -> None:
    await message.answer(await balance_text(smsc), reply_markup=balance_keyboard())


@router.callback_query(Menu.filter(F.action == "balance"), flags={ACCOUNT_FLAG: True})
async def menu_balance(query: CallbackQuery, smsc: SmscClient) -> None:
    await show_in_place(query, await balance_text(smsc), balance_keyboard())
