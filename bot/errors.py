"""The one error layer: every failure a handler lets through becomes a specific localized answer.

It runs as an outer update middleware inside the locale middleware, so answers are in the chat's
language; SMSC error 2 on a saved account also stops the bot from sending those credentials again.
"""

from __future__ import annotations

import contextlib
import html
import logging
import math
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    TelegramObject,
    Update,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.accounts import (
    AUTH_FAILED,
    AccountService,
    NeedsRelogin,
    NotLoggedIn,
    NotTheAsker,
    RoleTooLow,
    moment,
)
from bot.i18n import fmt_time, fmt_when
from bot.middlewares import Handler
from bot.services.teams import Role
from bot.smsc import SmscBadResponse, SmscError, SmscUnavailable
from bot.smsc.errors import AuthPaused, CredentialsRefused, WriteRefused
from bot.text import CALLBACK_DATA_LIMIT

log = logging.getLogger(__name__)

RETRY_PREFIX = "rt:"


class StaleButton(Exception):
    """A handler cannot use a button's data: from an older release, or forged by a client."""


def is_read(command: str) -> bool:
    """An SMSC command that only reads (``balance.balance``, ``phones.get_black``, ...)."""
    name = command.rsplit(".", 1)[-1]
    return name.startswith("get") or name == "balance"


def minutes(seconds: float | None) -> int:
    return max(1, math.ceil((seconds or 60) / 60))


def paused_text(until: datetime, *, busy: bool = False) -> str:
    """Why the bot sends nothing to SMSC for now, and until when."""
    if busy:
        return _(
            "The bot is busy sending other users' requests to SMSC, and to protect every user's "
            "connection to SMSC it sends only a few at once: this one could not go out in time. "
            "Nothing was sent. Please try again at {time}."
        ).format(time=fmt_time(until))
    return _(
        "Wrong passwords reached SMSC several times lately, and SMSC blocks the bot's server "
        "for every user after 5 in 30 minutes. To protect every user's connection to SMSC, "
        "the bot sends SMSC nothing more until {time}. Please try again then."
    ).format(time=fmt_time(until))


def refused_text(rejected_at: datetime | None, apikey: bool) -> str:
    """The saved credentials were refused: when, and how to go on."""
    if rejected_at is None:
        return smsc_error_text(SmscError("saved", AUTH_FAILED))
    if apikey:
        text = _(
            "SMSC refused the saved API key on {when}. The bot does not send it again: every "
            "wrong one brings SMSC closer to blocking the bot's server for all users. If the key "
            "was changed on SMSC's site, send the new one with /login."
        )
    else:
        text = _(
            "SMSC refused the saved password on {when}. The bot does not send it again: every "
            "wrong one brings SMSC closer to blocking the bot's server for all users. If the "
            "password was changed on SMSC's site, send the new one with /login."
        )
    return text.format(when=fmt_when(rejected_at))


def role_name(role: Role) -> str:
    names = {
        Role.VIEWER: _("viewer"),
        Role.OPERATOR: _("operator"),
        Role.ADMIN: _("admin"),
        Role.OWNER: _("owner"),
    }
    return names[role]


def role_refused_text(needed: Role, role: Role | None) -> str:
    """A person's role is below what they asked for."""
    if role is None:
        return _("Your role in this team does not allow this. Nothing was changed.")
    return _(
        "Your role in this team ({role}) cannot do this: it takes {needed} or higher. "
        "Nothing was changed; the owner or an admin can change your role in /team."
    ).format(role=role_name(role), needed=role_name(needed))


def attention_text() -> str:
    """Told to members below admin when SMSC stopped accepting the account's credentials."""
    return _(
        "The team's SMSC account needs attention: SMSC no longer accepts its saved password "
        "or key. The owner or an admin has to send the new one with /login in a private chat "
        "with me. Nothing was sent to SMSC."
    )


# The codes each script's page lists (balance.php's from NOTES.md). A code a page does not list
# has no documented meaning there and is shown as a bare number.
DOCUMENTED_CODES: Final[Mapping[str, frozenset[int]]] = {
    "phones": frozenset({1, 2, 3, 4, 5, 9}),
    "senders": frozenset({1, 2, 3, 4, 5, 7, 8, 9, 10, 11}),
    "users": frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}),
    "templates": frozenset({1, 2, 3, 4, 5, 9}),
    "balance": frozenset({1, 2, 4, 9}),
    "get": frozenset(range(1, 10)),
}
# Codes the client raises on SMSC's behalf (limits, a blocked host, refused credentials).
_LOCAL_CODES: Final = frozenset({2, 4, 9})


def smsc_error_text(exc: SmscError) -> str:
    """What an SMSC error code means for the user, by script and command as each page says."""
    script, _dot, command = exc.command.partition(".")
    code = exc.code
    if isinstance(exc, AuthPaused):
        return paused_text(moment(exc.until), busy=exc.busy)
    documented = DOCUMENTED_CODES.get(script)
    if (
        documented is not None
        and code not in documented
        and not (exc.local and code in _LOCAL_CODES)
    ):
        return _("SMSC answered with error {code}.").format(code=code)
    if code == 1:
        if command == "get_messages":
            return _(
                "SMSC did not accept the request: the number or the dates are not valid "
                "(the history covers at most six months)."
            )
        return _("SMSC did not accept the request: one of the values is not valid.")
    if script == "get" and code in (3, 5, 6, 7, 8):
        # get.php (statistics, history): SMSC could not give the data this time.
        return _("SMSC could not give these figures now (error {code}). Try again later.").format(
            code=code
        )
    if code == AUTH_FAILED:
        return _(
            "SMSC no longer accepts the saved login and password (were they changed?). "
            "Nothing will be sent to SMSC with them again. Log in again with /login."
        )
    if code == 3:
        if script == "senders":
            return _("SMSC has no such sender name.")
        return _("SMSC found no such record: it may have been deleted already.")
    if code == 4:
        count = minutes(exc.retry_after if exc.local else 30 * 60)
        return ngettext(
            "SMSC has temporarily blocked requests from this bot's server. "
            "Try again in {n} minute.",
            "SMSC has temporarily blocked requests from this bot's server. "
            "Try again in {n} minutes.",
            count,
        ).format(n=count)
    if code == 5:
        if script in ("phones", "users"):
            # phones.php and users.php: "Operation execution error".
            return _("SMSC could not carry out the operation.")
        return _("SMSC could not save or delete the record.")
    if code == 6:
        return _("There is no subclient with this login.")
    if code == 7:
        if script == "senders":
            # senders.php: "Invalid number format".
            if command in ("send_code", "check_code"):
                return _(
                    "This sender name is not a phone number SMSC can send a code to "
                    "(10 to 15 digits)."
                )
            return _("SMSC says this is not a phone number in a valid format.")
        # users.php: a sublogin sharing the main balance, or balance2=1 missing.
        if command == "pay":
            return _("This subclient uses the main account's balance, so it cannot be topped up.")
        if command.startswith("get_stat"):
            return _(
                "SMSC keeps no statistics of its own for this subclient this way: "
                "it uses the main account's balance."
            )
        return _(
            "SMSC refused: this subclient uses the main account's balance, "
            "or the operation needs the electronic balance."
        )
    if code == 8:
        if script == "senders":
            return _("SMSC cannot deliver a confirmation code to this number.")
        # users.php: "Error when saving a record".
        return _("SMSC could not save the subclient.")
    if code == 9:
        return _("SMSC asks to wait a minute before repeating this request.")
    if code == 10:
        if script == "senders":
            return _(
                "A code was already sent to this number. Another one can be sent "
                "8 hours after the first."
            )
        return _("There is not enough money on the main account for this top-up.")
    if code == 11:
        return _("The confirmation code is wrong. Check it and send it again.")
    return _("SMSC answered with error {code}.").format(code=code)


def explain(exc: SmscError) -> str:
    """An SMSC error in words (HTML-escaped) for answering in place.

    A rejected login is raised on to the error layer, which also stops using those credentials.
    """
    if exc.code == AUTH_FAILED:
        raise exc
    return html.escape(smsc_error_text(exc), quote=False)


# Set while an update is handled, once its message turned out to carry a secret.
_SECRET_TAKEN: ContextVar[bool] = ContextVar("secret_taken", default=False)


def secret_taken() -> None:
    """Say that the message being handled carries a secret (a password, an API key).

    A "Try again" button repeats a failed message by carrying its text as callback data, which
    goes to Telegram and stays on screen: for such a message there is no button.
    """
    _SECRET_TAKEN.set(True)


def retry_markup(update: Update) -> InlineKeyboardMarkup | None:
    """A button that repeats what failed, when that fits a button."""
    if update.callback_query is not None:
        data = update.callback_query.data or ""
    elif update.message is not None and update.message.text and not _SECRET_TAKEN.get():
        data = RETRY_PREFIX + update.message.text
    else:
        return None
    if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("Try again"), callback_data=data)]]
    )


class ErrorLayerMiddleware(BaseMiddleware):
    """Catches what handlers raise and answers the user; unexpected errors get an incident id."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        # Handlers run in this context, so what they mark with secret_taken is seen here.
        token = _SECRET_TAKEN.set(False)
        try:
            return await handler(event, data)
        except Exception as exc:
            assert isinstance(event, Update)
            await self._answer(exc, event, data)
            return None
        finally:
            _SECRET_TAKEN.reset(token)

    async def _answer(self, exc: Exception, update: Update, data: dict[str, Any]) -> None:
        chat = data.get("event_chat")
        markup: InlineKeyboardMarkup | None = None
        if isinstance(exc, RoleTooLow | NotTheAsker | WriteRefused):
            if isinstance(exc, RoleTooLow):
                text = role_refused_text(exc.needed, exc.role)
            elif isinstance(exc, NotTheAsker):
                text = _(
                    "Only the person who asked this, or the team's owner or an admin, can "
                    "answer it. Nothing was done."
                )
            else:
                text = role_refused_text(Role.ADMIN, None)
            log.info("refused in chat %s: %s", chat and chat.id, exc)
            if update.callback_query is not None:
                # On the button itself, seen only by who tapped it.
                with contextlib.suppress(TelegramBadRequest):
                    await update.callback_query.answer(text, show_alert=True)
                    return
            await self._send(update, data, text, None)
            return
        if isinstance(exc, NotLoggedIn):
            text = _("You are not logged in to SMSC yet. Send /login to connect your account.")
        elif isinstance(exc, NeedsRelogin):
            text = refused_text(exc.rejected_at, exc.apikey) if exc.can_fix else attention_text()
        elif isinstance(exc, SmscError):
            text = smsc_error_text(exc)
            if exc.code == AUTH_FAILED and chat is not None:
                account = await self.accounts.rejected(chat.id)
                when = (
                    moment(exc.rejected_at)
                    if isinstance(exc, CredentialsRefused)
                    else datetime.now(UTC)
                )
                user = data.get("event_from_user")
                _link, role = await self.accounts.teams.role(chat.id, user.id if user else 0)
                if account is not None and (role or Role.VIEWER) < Role.ADMIN:
                    text = attention_text()
                elif account is not None:
                    text = refused_text(when, account.auth_kind == "apikey")
            log.info(
                "SMSC error %s on %s shown to chat %s", exc.code, exc.command, chat and chat.id
            )
        elif isinstance(exc, SmscUnavailable | SmscBadResponse):
            if exc.uncertain:
                text = _(
                    "SMSC did not confirm the change. It may or may not have been made: "
                    "check before you repeat it."
                )
            else:
                reason = (
                    _("SMSC is not reachable right now.")
                    if isinstance(exc, SmscUnavailable)
                    else _("SMSC answered something the bot does not understand.")
                )
                # After a read, "nothing was changed" would answer a question nobody asked.
                text = (
                    reason
                    + " "
                    + (
                        _("Try again.")
                        if is_read(exc.command)
                        else _("Nothing was changed. Try again.")
                    )
                )
                markup = retry_markup(update)
            log.warning("%s", exc)
        elif isinstance(exc, TelegramForbiddenError):
            # The user blocked the bot (or left the chat): there is nobody to answer.
            log.info("chat %s cannot be written to: %s", chat and chat.id, exc.message)
            return
        elif isinstance(exc, TelegramBadRequest) and "message is not modified" in exc.message:
            # A double tap on the same button: the screen already shows the answer. The query
            # was usually answered before the handler ran, and Telegram refuses a second answer.
            if update.callback_query is not None:
                with contextlib.suppress(TelegramBadRequest):
                    await update.callback_query.answer()
            return
        elif isinstance(exc, StaleButton):
            log.info("stale or forged button in chat %s: %s", chat and chat.id, exc)
            text = _("This menu is out of date.")
        else:
            incident = uuid.uuid4().hex[:8]
            log.error(
                "incident %s while handling update %s", incident, update.update_id, exc_info=exc
            )
            text = _("Sorry, something went wrong on our side. Incident {incident}.").format(
                incident=incident
            )
        await self._send(update, data, text, markup)

    @staticmethod
    async def _send(
        update: Update, data: dict[str, Any], text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        bot: Bot = data["bot"]
        chat = data.get("event_chat")
        try:
            if update.callback_query is not None:
                # Buttons are answered before their handler runs; a second answer is refused,
                # and that must not stop the error text.
                with contextlib.suppress(TelegramBadRequest):
                    await update.callback_query.answer()
            if chat is not None:
                await bot.send_message(chat.id, text, reply_markup=markup)
        except Exception:
            log.exception("could not deliver an error answer to chat %s", chat and chat.id)
