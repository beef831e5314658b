"""/start, /help, /cancel and the main menu."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.commands import COMMANDS
from bot.ui import esc

router = Router(name="start")


class Menu(CallbackData, prefix="m"):
    """A main-menu button: ``action`` is the command it stands for."""

    action: str


def main_menu(logged_in: bool) -> InlineKeyboardMarkup:
    first = (
        InlineKeyboardButton(text=_("Balance"), callback_data=Menu(action="balance").pack())
        if logged_in
        else InlineKeyboardButton(text=_("Log in"), callback_data=Menu(action="login").pack())
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [first],
            [
                InlineKeyboardButton(text=_("Language"), callback_data=Menu(action="lang").pack()),
                InlineKeyboardButton(text=_("Help"), callback_data=Menu(action="help").pack()),
            ],
        ]
    )


async def start_text(chat_id: int, accounts: AccountService) -> tuple[str, bool]:
    account = await accounts.repo.get(chat_id)
    intro = _(
        "I manage your SMSC account from Telegram: balance, contacts, the black list, "
        "sender names, templates, subclients and statistics."
    )
    if account is None:
        step = _("First connect your account: send /login.")
    elif account.needs_relogin:
        step = _("SMSC no longer accepts the saved credentials. Send /login to log in again.")
    else:
        who = account.login or _("API key")
        step = _("You are logged in as <b>{who}</b> on {site}. /help lists what I can do.").format(
            who=esc(who), site=esc(account.site)
        )
    return f"{intro}\n\n{step}", account is not None and not account.needs_relogin


@router.message(CommandStart())
async def cmd_start(message: Message, accounts: AccountService) -> None:
    text, logged_in = await start_text(message.chat.id, accounts)
    await message.answer(text, reply_markup=main_menu(logged_in))


def help_text() -> str:
    lines = [_("What I can do:")]
    lines += [f"/{name} — {_(description)}" for name, description in COMMANDS]
    return "\n".join(lines)


@router.message(Command("help"))
async def cmd_help(message: Message) -> None:
    await message.answer(help_text())


@router.callback_query(Menu.filter(F.action == "help"))
async def menu_help(query: CallbackQuery) -> None:
    if query.message is not None:
        await query.bot.send_message(query.message.chat.id, help_text())  # type: ignore[union-attr]


@router.message(Command("cancel"))
async def cmd_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled. Nothing was changed."))
