"""/login: the conversation and the one-line forms; secrets taken only in a private chat and
deleted at once."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import (
    AUTH_FAILED,
    DEMO_SITE,
    SITES,
    AccountService,
    LoginPaused,
    looks_like_login,
)
from bot.errors import paused_text, smsc_error_text
from bot.i18n import fmt_time
from bot.smsc import Site, SmscBadResponse, SmscError, SmscUnavailable
from bot.storage.audit import AuditLog
from bot.ui import delete_secret, esc
from bot.ui import show_in_place as show
from handlers.account.data import BOT_COMMAND, LoginForm, LoginMethod, LoginSite
from handlers.account.invite import start_link
from handlers.account.views import logged_in_text, method_keyboard, not_a_login_text, sites_keyboard
from handlers.common import Menu

router = Router(name="account.login")


LOGIN_PAYLOAD = "login"


async def private_only(message: Message) -> bool:
    """True in a private chat; elsewhere a button that goes on with /login privately."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.bot is None:
        return False
    link = await start_link(message.bot, LOGIN_PAYLOAD)
    await message.answer(
        _(
            "I take SMSC passwords and API keys only in a private chat, where nobody else "
            "reads them. Tap the button to go on there."
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=_("Log in privately"), url=link)]]
        ),
    )
    return False


async def scrub_group_secret(message: Message) -> None:
    """A secret sent in a group: deleted where the bot may, else everyone is told to change it."""
    cannot = _(
        "This message looks like it carries an SMSC password or API key, and I cannot "
        "delete it here (I am not allowed to delete messages in this group). Delete it "
        "and change the password on SMSC's site: everyone in this chat may have seen "
        "it. Nothing was sent to SMSC."
    )
    if not await delete_secret(message, cannot):
        return
    await message.answer(
        _(
            "I deleted a message that looked like it carried an SMSC password or API key. "
            "If it did, change it on SMSC's site: others in this chat may have seen it. "
            "Nothing was sent to SMSC."
        )
    )


async def ask_site(message: Message, state: FSMContext, accounts: AccountService) -> None:
    if not await private_only(message):
        return
    await state.clear()
    await state.set_state(LoginForm.site)
    await message.answer(
        _("Which SMSC site is your account on?"),
        reply_markup=sites_keyboard(accounts.demo_available),
    )


async def carries_saved_secret(message: Message, accounts: AccountService) -> bool:
    """A group's message holding the saved password or key of the account the group works with
    (in a private chat, only a message no step took is looked at: handlers/fallback.py)."""
    text = message.text or message.caption or ""
    return message.chat.type != ChatType.PRIVATE and await accounts.holds_saved_secret(
        message.chat.id, text
    )


@router.message(carries_saved_secret)
async def saved_secret_in_group(message: Message) -> None:
    await scrub_group_secret(message)


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
    if message.chat.type != ChatType.PRIVATE:
        # Never checked with SMSC here: the group may have read it.
        await scrub_group_secret(message)
        await private_only(message)
        return
    # A one-line form carries the secret: it leaves the chat before anything else happens.
    await delete_secret(message)
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


@router.message(CommandStart(deep_link=True, magic=F.args == LOGIN_PAYLOAD))
async def start_login(message: Message, state: FSMContext, accounts: AccountService) -> None:
    await ask_site(message, state, accounts)


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
    await state.update_data(apikey=callback_data.apikey)
    if callback_data.apikey:
        await state.set_state(LoginForm.secret)
        await show(
            query, _("Send your SMSC API key. I will delete your message with it right away."), None
        )
    else:
        await state.set_state(LoginForm.login)
        await show(query, _("Send your SMSC login."), None)


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
