"""/login (a conversation and one-line forms), /logout, /balance."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import (
    AUTH_FAILED,
    DEMO_SITE,
    SITES,
    AccountService,
    LoginPaused,
    LoginResult,
)
from bot.commands import COMMANDS
from bot.errors import paused_text, secret_taken, smsc_error_text
from bot.i18n import fmt_money, fmt_time
from bot.middlewares import ACCOUNT_FLAG
from bot.smsc import Site, SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.storage.audit import AuditLog
from bot.ui import Confirm, confirm_keyboard, esc, rows
from handlers.start import Menu

router = Router(name="account")
log = logging.getLogger(__name__)


# The bot's own commands go on to their handlers from inside the conversation; any other text,
# even one starting with "/", may be the login or the secret.
BOT_COMMAND = Command(*(name for name, _text in COMMANDS))


class LoginForm(StatesGroup):
    site = State()
    method = State()
    login = State()
    secret = State()


class LoginSite(CallbackData, prefix="ls"):
    site: str


class LoginMethod(CallbackData, prefix="lm"):
    apikey: bool


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


async def ask_site(message: Message, state: FSMContext, accounts: AccountService) -> None:
    await state.clear()
    await state.set_state(LoginForm.site)
    await message.answer(
        _("Which SMSC site is your account on?"),
        reply_markup=sites_keyboard(accounts.demo_available),
    )


@router.message(Command("login"))
async def cmd_login(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    if not command.args:
        await ask_site(message, state, accounts)
        return
    # A one-line form carries the secret: it leaves the chat before anything else happens.
    await delete_secret(message)
    parts = command.args.split()
    if len(parts) != 2:
        await message.answer(
            _("Use /login <login> <password>, /login apikey <key>, or just /login.")
        )
        return
    await state.clear()
    apikey = parts[0].lower() == "apikey"
    await finish_login(
        message,
        state,
        accounts,
        audit,
        site=Site.RU.value,
        login=None if apikey else parts[0],
        secret=parts[1],
        apikey=apikey,
    )


@router.callback_query(Menu.filter(F.action == "login"))
async def menu_login(query: CallbackQuery, state: FSMContext, accounts: AccountService) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await ask_site(query.message, state, accounts)


@router.callback_query(LoginForm.site, LoginSite.filter())
async def chose_site(
    query: CallbackQuery,
    callback_data: LoginSite,
    state: FSMContext,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if callback_data.site == DEMO_SITE and accounts.demo_available:
        await state.clear()
        await message.edit_text(_("Demo account: every feature works on made-up data."))
        result = await accounts.login_demo(message.chat.id)
        await audit.record(message.chat.id, query.from_user.id, "login", DEMO_SITE, "ok")
        await message.answer(logged_in_text(result))
        return
    if callback_data.site not in SITES:
        # A demo button from before DEMO was turned off, or forged data.
        await message.answer(_("This menu is out of date."))
        await ask_site(message, state, accounts)
        return
    await state.update_data(site=callback_data.site)
    await state.set_state(LoginForm.method)
    await message.edit_text(
        _("Site: {site}. How do you want to log in?").format(site=esc(callback_data.site)),
        reply_markup=method_keyboard(),
    )


@router.callback_query(LoginForm.method, LoginMethod.filter())
async def chose_method(query: CallbackQuery, callback_data: LoginMethod, state: FSMContext) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await state.update_data(apikey=callback_data.apikey)
    if callback_data.apikey:
        await state.set_state(LoginForm.secret)
        await query.message.edit_text(
            _("Send your SMSC API key. I will delete your message with it right away.")
        )
    else:
        await state.set_state(LoginForm.login)
        await query.message.edit_text(_("Send your SMSC login."))


@router.message(LoginForm.site)
@router.message(LoginForm.method)
async def expected_button(message: Message, state: FSMContext, accounts: AccountService) -> None:
    if await state.get_state() == LoginForm.site.state:
        markup = sites_keyboard(accounts.demo_available)
    else:
        markup = method_keyboard()
    await message.answer(_("Please choose with the buttons, or send /cancel."), reply_markup=markup)


@router.message(LoginForm.login, F.text, ~BOT_COMMAND)
async def got_login(message: Message, state: FSMContext) -> None:
    login = (message.text or "").strip()
    if not login or len(login) > 64 or any(ch.isspace() for ch in login):
        await message.answer(_("A login is one word without spaces. Send it again."))
        return
    await state.update_data(login=login)
    await state.set_state(LoginForm.secret)
    await message.answer(_("Now send the password. I will delete your message with it right away."))


@router.message(LoginForm.secret, F.text, ~BOT_COMMAND)
async def got_secret(
    message: Message, state: FSMContext, accounts: AccountService, audit: AuditLog
) -> None:
    secret = (message.text or "").strip()
    await delete_secret(message)
    data = await state.get_data()
    if not secret:
        await message.answer(_("That was empty. Send it again, or /cancel."))
        return
    await finish_login(
        message,
        state,
        accounts,
        audit,
        site=str(data.get("site", Site.RU.value)),
        login=data.get("login"),
        secret=secret,
        apikey=bool(data.get("apikey")),
    )


@router.message(LoginForm.login, ~BOT_COMMAND)
@router.message(LoginForm.secret, ~BOT_COMMAND)
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))


async def delete_secret(message: Message) -> None:
    secret_taken()
    try:
        await message.delete()
    except TelegramBadRequest:
        await message.answer(
            _("I could not delete your message with the secret. Please delete it yourself.")
        )


async def finish_login(
    message: Message,
    state: FSMContext,
    accounts: AccountService,
    audit: AuditLog,
    *,
    site: str,
    login: str | None,
    secret: str,
    apikey: bool,
) -> None:
    """Check with SMSC, save, answer, leave the conversation; a failure keeps the conversation."""
    chat_id = message.chat.id
    user_id = message.from_user.id if message.from_user else None
    target = f"{site}:{login or 'apikey'}"
    try:
        result = await accounts.login(
            chat_id, site, login=login, secret=secret, apikey=apikey, user_id=user_id
        )
    except LoginPaused as exc:
        await message.answer(
            paused_text(exc.until, busy=True)
            if exc.busy
            else _(
                "Log-in checks are paused until {time}. Wrong passwords reached SMSC several "
                "times lately, and SMSC blocks the bot's server for every user after 5 in 30 "
                "minutes: the pause protects every user's connection to SMSC. Nothing was sent "
                "to SMSC; please send the password again after {time}."
            ).format(time=fmt_time(exc.until))
        )
        await audit.record(chat_id, user_id, "login", target, "paused")
        return
    except SmscError as exc:
        if exc.code == AUTH_FAILED:
            text = (
                _("SMSC did not accept this API key. Send it again, or /cancel.")
                if apikey
                else _(
                    "SMSC did not accept this login and password. "
                    "Send the password again, or /login to start over."
                )
            )
        else:
            text = smsc_error_text(exc)
        await message.answer(text)
        await audit.record(chat_id, user_id, "login", target, f"smsc error {exc.code}")
        return
    except (SmscUnavailable, SmscBadResponse):
        await message.answer(
            _(
                "SMSC is not reachable right now, so nothing was saved. "
                "Send the password again later."
            )
        )
        await audit.record(chat_id, user_id, "login", target, "unreachable")
        return
    await audit.record(chat_id, user_id, "login", target, "ok")
    await message.answer(logged_in_text(result))
    # Only after the answer: should the bot die before it, the user sends the password again, and
    # the conversation must still be there to take it and delete it from the chat.
    await state.clear()


def logged_in_text(result: LoginResult) -> str:
    who = result.account.login or _("API key")
    return _("Logged in as <b>{who}</b> on {site}.\nBalance: <b>{balance}</b>").format(
        who=esc(who),
        site=esc(result.account.site),
        balance=esc(fmt_money(result.balance.balance, result.balance.currency)),
    )


@router.message(Command("logout"))
async def cmd_logout(message: Message, accounts: AccountService) -> None:
    if await accounts.repo.get(message.chat.id) is None:
        await message.answer(_("You are not logged in."))
        return
    await message.answer(
        _("Log out and delete the saved SMSC credentials from the bot?"),
        reply_markup=confirm_keyboard("logout"),
    )


@router.callback_query(Confirm.filter(F.action == "logout"))
async def confirm_logout(
    query: CallbackQuery, callback_data: Confirm, accounts: AccountService, audit: AuditLog
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not callback_data.yes:
        await query.message.edit_text(_("You stay logged in."))
        return
    chat_id = query.message.chat.id
    had = await accounts.logout(chat_id)
    await audit.record(chat_id, query.from_user.id, "logout", "", "ok" if had else "none")
    await query.message.edit_text(_("Logged out. The saved credentials are deleted."))


async def show_balance(message: Message, smsc: SmscClient) -> None:
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
    await message.answer("\n".join(lines))


@router.message(Command("balance"), flags={ACCOUNT_FLAG: True})
async def cmd_balance(message: Message, smsc: SmscClient) -> None:
    await show_balance(message, smsc)


@router.callback_query(Menu.filter(F.action == "balance"), flags={ACCOUNT_FLAG: True})
async def menu_balance(query: CallbackQuery, smsc: SmscClient) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_balance(query.message, smsc)
