"""/start and /menu (the home screen), /help, /cancel.

Home is one message: every job reached from it edits that message in place, and every screen
has the "Menu" button back to it. The jobs are ``handlers.common.HOME_JOBS``; each feature takes
its own ``Menu(action=...)``.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.commands import HELP_GROUPS
from bot.services.subclients import Resellers
from bot.ui import account_text, answer_or_show, button, chat_of, rows
from handlers.common import HOME_JOBS, Menu, home_row

__all__ = ["Menu", "help_text", "home_view", "router"]

router = Router(name="start")


def home_keyboard(logged_in: bool, *, reseller: bool = True) -> InlineKeyboardMarkup:
    """The jobs two to a row (subclients for a reseller), then language and help; before a
    log-in only "Log in"."""
    extra = [button(_("Language"), Menu(action="lang")), button(_("Help"), Menu(action="help"))]
    if not logged_in:
        return InlineKeyboardMarkup(
            inline_keyboard=[[button(_("Log in"), Menu(action="login"))], extra]
        )
    jobs = [
        button(_(label), Menu(action=action))
        for action, label in HOME_JOBS
        if reseller or action != "subclients"
    ]
    return InlineKeyboardMarkup(inline_keyboard=[*rows(jobs, 2), extra])


async def home_view(
    chat_id: int, user_id: int | None, accounts: AccountService, resellers: Resellers
) -> tuple[str, InlineKeyboardMarkup]:
    account = await accounts.repo.get(chat_id)
    if account is None:
        text = (
            _(
                "I manage your SMSC account from Telegram: balance, contacts, the black list, "
                "sender names, templates, subclients and statistics."
            )
            + "\n\n"
            + _("First connect your account: send /login.")
        )
        return text, home_keyboard(False)
    if account.needs_relogin:
        text = _("SMSC no longer accepts the saved credentials. Send /login to log in again.")
        return text, home_keyboard(False)
    text = "\n".join(
        (
            _("You are logged in {account}.").format(
                account=account_text(account.login, account.site)
            ),
            "",
            _("Choose a job, or send a phone number to see what is known about it."),
        )
    )
    _account, smsc = await accounts.client_for(chat_id, user_id)
    reseller = await resellers.has_subclients(
        accounts.identity(account), smsc, accounts.repo, chat_id
    )
    return text, home_keyboard(True, reseller=reseller)


@router.message(CommandStart())
@router.message(Command("menu"))
@router.callback_query(Menu.filter(F.action == "home"))
async def cmd_start(
    event: Message | CallbackQuery,
    state: FSMContext,
    accounts: AccountService,
    resellers: Resellers,
) -> None:
    await state.clear()
    user_id = event.from_user.id if event.from_user is not None else None
    await answer_or_show(event, *await home_view(chat_of(event), user_id, accounts, resellers))


def help_text() -> str:
    """The commands grouped by job, one short line each."""
    lines = [_("What I can do:"), ""]
    for title, commands in HELP_GROUPS:
        lines.append(f"<b>{_(title)}</b>")
        lines += [f"/{name} — {_(description)}" for name, description in commands]
        lines.append("")
    lines.append(_("A phone number sent on its own opens its card: black list and contact."))
    return "\n".join(lines)


def help_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[home_row()])


@router.message(Command("help"))
@router.callback_query(Menu.filter(F.action == "help"))
async def cmd_help(event: Message | CallbackQuery) -> None:
    await answer_or_show(event, help_text(), help_keyboard())


@router.message(Command("cancel"))
async def cmd_cancel(message: Message, state: FSMContext) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[home_row()])
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=markup)
        return
    await state.clear()
    await message.answer(_("Cancelled. Nothing was changed."), reply_markup=markup)
