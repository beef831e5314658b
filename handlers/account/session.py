"""/logout (confirmed through a record) and /balance."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.accounts import AccountService, RoleTooLow
from bot.i18n import fmt_money
from bot.middlewares import ACCOUNT_FLAG
from bot.services.confirmations import ConfirmationService
from bot.services.teams import Role
from bot.smsc import SmscClient
from bot.ui import Cf, answer_or_show, chat_of, esc, show_in_place
from handlers.account.team import ask_to_leave
from handlers.common import Menu, home_row
from handlers.confirm import Asked, Tap, ask_confirmation

router = Router(name="account.session")


@router.message(Command("logout"))
async def cmd_logout(
    message: Message, accounts: AccountService, confirmations: ConfirmationService
) -> None:
    """The owner disconnects the account for everyone (confirmed, saying who loses access);
    anyone else's /logout is leaving the team."""
    user = message.from_user
    link, role = await accounts.teams.role(message.chat.id, user.id if user else 0)
    account = None if link is None else await accounts.repo.get_by_id(link.account_id)
    if account is None or user is None:
        await message.answer(_("You are not logged in."))
        return
    member = await accounts.teams.repo.member(account.id, user.id)
    if member is None:
        # A group's role is not a membership: there is nothing of theirs to log out of.
        raise RoleTooLow(Role.OWNER, role or Role.VIEWER)
    if member.role != Role.OWNER.key:
        await ask_to_leave(
            message,
            Role.of(member.role) or Role.VIEWER,
            {"confirmations": confirmations, "account": account},
        )
        return
    others = len(await accounts.teams.repo.members(account.id)) - 1
    question = _("Log out and delete the saved SMSC credentials from the bot?")
    if others:
        question += " " + ngettext(
            "{n} other member of the team loses access too.",
            "{n} other members of the team lose access too.",
            others,
        ).format(n=others)
    await ask_confirmation(
        message,
        {"confirmations": confirmations, "account": account},
        action="logout",
        payload={"account": str(account.id)},
        question=question,
    )


@router.callback_query(Cf.filter(), Asked("logout"))
async def confirm_logout(query: CallbackQuery, accounts: AccountService, **data: Any) -> None:
    chat_id = chat_of(query)
    # Checked at the tap: only the owner disconnects the account (the one who asked, unless
    # ownership changed hands since).
    account = await accounts.repo.get(chat_id)
    member = None
    if account is not None:
        member = await accounts.teams.repo.member(account.id, query.from_user.id)
    if account is not None and (member is None or member.role != Role.OWNER.key):
        raise RoleTooLow(Role.OWNER, (Role.of(member.role) if member else None) or Role.VIEWER)
    tap = Tap.of(query, data | {"account": account})
    # Asked for the account the chat is on now: after a log-in to another one, or a log-out
    # since (a second tap), the claim is refused as out of date or already done.
    stay = _("You stay logged in.") if account is not None else _("You are not logged in.")
    record = await tap.claimed(lambda: show_in_place(query, stay, None))
    if record is None:
        return
    await tap.audit.record(chat_id, query.from_user.id, "logout", "", "ok")
    await accounts.logout(chat_id)
    await tap.confirmations.finish(record.id, "done")
    await show_in_place(query, _("Logged out. The saved credentials are deleted."), None)


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
@router.callback_query(Menu.filter(F.action == "balance"), flags={ACCOUNT_FLAG: True})
async def cmd_balance(event: Message | CallbackQuery, smsc: SmscClient) -> None:
    await answer_or_show(event, await balance_text(smsc), balance_keyboard())
