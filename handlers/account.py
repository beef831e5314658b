"""/login (a conversation and one-line forms), /logout, /balance."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import F, Router
from aiogram.enums import ChatType
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
    looks_like_login,
)
from bot.commands import COMMANDS
from bot.errors import paused_text, secret_taken, smsc_error_text
from bot.i18n import fmt_money, fmt_time
from bot.middlewares import ACCOUNT_FLAG
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import Site, SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import Cf, confirm_keyboard, esc, rows
from handlers.confirm import Asked, cancel, claim
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


# Every state of the log-in conversation starts with this (aiogram names states "Group:state").
LOGIN_STATES: Final = f"{LoginForm.__full_group_name__}:"


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


async def private_only(message: Message) -> bool:
    """True in a private chat; elsewhere say that secrets are taken only there."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    await message.answer(
        _(
            "I take SMSC passwords and API keys only in a private chat, where nobody else "
            "reads them. Open a chat with me and send /login there."
        )
    )
    return False


async def ask_site(message: Message, state: FSMContext, accounts: AccountService) -> None:
    if not await private_only(message):
        return
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
    if not await private_only(message):
        return
    parts = command.args.split()
    if len(parts) != 2:
        # esc: the placeholders in angle brackets would be read as HTML tags and refused.
        await message.answer(
            esc(_("Use /login <login> <password>, /login apikey <key>, or just /login."))
        )
        return
    apikey = parts[0].lower() == "apikey"
    login = None if apikey else parts[0]
    if login is not None and not looks_like_login(login):
        await message.answer(
            esc(
                _(
                    "The first word does not look like a login (Latin letters, digits and the "
                    "signs _ . - @), so nothing was sent to SMSC. Use /login <login> <password>, "
                    "or just /login."
                )
            )
        )
        return
    site = Site.RU.value
    # Should SMSC refuse the secret, the conversation waits for it at its last step: the next
    # message is taken, and deleted, as the new password or key.
    data = {"site": site, "apikey": apikey}
    if login is not None:
        data["login"] = accounts.seal(message.chat.id, login)
    await state.set_data(data)
    await state.set_state(LoginForm.secret)
    await finish_login(
        message, state, accounts, audit, site=site, login=login, secret=parts[1], apikey=apikey
    )


@router.callback_query(Menu.filter(F.action == "login"))
async def menu_login(query: CallbackQuery, state: FSMContext, accounts: AccountService) -> None:
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


# Every message sent during a log-in, other than the bot's own commands, is deleted: any of them
# may be the password sent a step too early, and a password that looks like a login cannot be
# told from one. The login is not echoed back either, for the same reason.


@router.message(LoginForm.site, ~BOT_COMMAND)
@router.message(LoginForm.method, ~BOT_COMMAND)
async def expected_button(message: Message, state: FSMContext, accounts: AccountService) -> None:
    await delete_secret(message)
    if await state.get_state() == LoginForm.site.state:
        markup = sites_keyboard(accounts.demo_available)
    else:
        markup = method_keyboard()
    await message.answer(
        _(
            "Please choose with the buttons, or send /cancel. (I deleted your message: during "
            "a log-in I delete everything that might be a password.)"
        ),
        reply_markup=markup,
    )


def not_a_login_text() -> str:
    return _(
        "This does not look like a login, so I deleted it: it may have been your password. "
        "A login is one word of Latin letters, digits and the signs _ . - @. "
        "Send the login alone."
    )


@router.message(LoginForm.login, F.text, ~BOT_COMMAND)
async def got_login(message: Message, state: FSMContext, accounts: AccountService) -> None:
    login = (message.text or "").strip()
    await delete_secret(message)
    if not looks_like_login(login):
        await message.answer(not_a_login_text())
        return
    # Encrypted: it may still turn out to be the password, sent a step too early.
    await state.update_data(login=accounts.seal(message.chat.id, login))
    await state.set_state(LoginForm.secret)
    await message.answer(
        _(
            "Got the login (I deleted that message too, so no credentials stay in the chat). "
            "Now send the password: I will delete it right away."
        )
    )


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
    apikey = bool(data.get("apikey"))
    login = None
    if not apikey:
        login = accounts.unseal(message.chat.id, data.get("login"))
        if login is None:
            # The key that sealed it is gone (SECRET_KEY changed), or the data is not ours.
            await state.clear()
            await message.answer(
                _("This log-in cannot go on, so nothing was sent to SMSC. Please send /login.")
            )
            return
        if secret == login:
            # The password went in at the login step and now once more: SMSC must not get it
            # as a login, and a failed check would count towards its IP block.
            await state.set_data({k: v for k, v in data.items() if k != "login"})
            await state.set_state(LoginForm.login)
            await message.answer(
                _(
                    "This is the same as the login you sent, so the password probably went in "
                    "at the login step. Nothing was sent to SMSC, and both messages are deleted. "
                    "Send your login."
                )
            )
            return
    await finish_login(
        message,
        state,
        accounts,
        audit,
        site=str(data.get("site", Site.RU.value)),
        login=login,
        secret=secret,
        apikey=apikey,
    )


@router.message(LoginForm.login, ~BOT_COMMAND)
@router.message(LoginForm.secret, ~BOT_COMMAND)
async def expected_text(message: Message) -> None:
    await delete_secret(message)
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
    # Until SMSC accepts them, what was typed may be anything, a password included: the audit
    # log, kept in clear and for good, names only the site and the method.
    target = f"{site}:{'apikey' if apikey else 'password'}"
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
    await audit.record(chat_id, user_id, "login", f"{site}:{login or 'apikey'}", "ok")
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
    if isinstance(query.message, Message):
        await show_balance(query.message, smsc)
