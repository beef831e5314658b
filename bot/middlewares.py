"""Middlewares: who may talk to the bot, which SMSC account a handler uses, flood control, and
what every outgoing text must be (Telegram's limits, no characters that hide or reorder text)."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import BaseMiddleware, Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.flags import get_flag
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery, GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, ForceReply, InlineKeyboardMarkup, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService, NotLoggedIn, NotTheAsker
from bot.health import Heartbeat
from bot.i18n import CHOSEN_LANGUAGE
from bot.phones import region_for_site
from bot.services.blacklist import BlackLists
from bot.services.phonebook import PhoneBooks
from bot.services.subclients import Subclients
from bot.services.teams import Role
from bot.storage.audit import ACTOR_NAME
from bot.storage.updates import UpdateJournal
from bot.text import (
    CALLBACK_ANSWER_LIMIT,
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    clean,
    clip,
    clip_html,
)

log = logging.getLogger(__name__)

# What an update middleware calls next.
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# What a session middleware calls to send the request on (again, for a retry).
Send = Callable[[], Awaitable[Any]]

ACCOUNT_FLAG = "account"
# The least role a handler flagged ``account`` needs (bot.services.teams.Role); viewer if unset.
ROLE_FLAG = "role"
# The flags of handlers that change contacts, groups, the black list or templates, and of those
# that change sender names, subclients or the team (docs/teams.md has the table).
OPERATOR_FLAGS: Final = {ACCOUNT_FLAG: True, ROLE_FLAG: Role.OPERATOR}
ADMIN_FLAGS: Final = {ACCOUNT_FLAG: True, ROLE_FLAG: Role.ADMIN}


class Gate(BaseMiddleware):
    """A middleware that looks at an update before its handler and nothing after: ``admit`` says
    whether the update goes on, and may add to ``data`` what the handler needs."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not await self.admit(event, data):
            return None
        return await handler(event, data)

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        """Whether ``event`` goes on to its handler."""
        raise NotImplementedError


class AllowlistMiddleware(Gate):
    """With ``ALLOWED_USER_IDS`` set, updates from anyone else get no answer at all."""

    def __init__(self, allowed: frozenset[int]) -> None:
        self.allowed = allowed

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        user: User | None = data.get("event_from_user")
        return not self.allowed or (user is not None and user.id in self.allowed)


class SameUserMiddleware(Gate):
    """Drops an update from a private chat whose sender is not the chat's user.

    Telegram never sends one; a forged or replayed update could otherwise act on another
    person's account, since accounts belong to chats.
    """

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        private = chat is not None and chat.type == ChatType.PRIVATE
        if private and chat is not None and user is not None and user.id != chat.id:
            log.info("update from user %s in the private chat %s dropped", user.id, chat.id)
            return False
        return True


class OnceMiddleware(Gate):
    """Skips an update Telegram delivers again after a crash (see ``bot.storage.updates``).

    ``read_language``: the chat's saved language is read with the claim, in one statement, for
    ``ChatLocaleMiddleware`` (PostgreSQL, where every update reads it).
    """

    def __init__(self, journal: UpdateJournal, *, read_language: bool = False) -> None:
        self.journal = journal
        self.read_language = read_language

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        # update_id 0 marks updates the bot made itself (a retry button replays a command).
        if isinstance(event, Update) and event.update_id:
            bot: Bot = data["bot"]
            chat: Chat | None = data.get("event_chat")
            if self.read_language and chat is not None:
                claimed, data[CHOSEN_LANGUAGE] = await self.journal.claim_reading_language(
                    bot.id, event.update_id, chat.id
                )
            else:
                claimed = await self.journal.claim(bot.id, event.update_id)
            if not claimed:
                log.info("update %s was taken on before a restart; skipped", event.update_id)
                return False
        return True


class AccountMiddleware(Gate):
    """Hands ``account``, ``smsc`` and ``role`` to handlers flagged ``account``, checking the
    handler's ``role`` flag (default viewer) against the role of whoever sent the message or
    tapped, at that moment; raises ``NotLoggedIn``, ``RoleTooLow`` or ``NotTheAsker``.

    Runs before buttons are answered, so a refusal can be an alert on the button.
    """

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        user: User | None = data.get("event_from_user")
        if user is not None:
            ACTOR_NAME.set(user.full_name)
        if get_flag(data, ACCOUNT_FLAG):
            chat = data["event_chat"]
            if user is None:
                raise NotLoggedIn
            needed = get_flag(data, ROLE_FLAG, default=Role.VIEWER)
            access = await self.accounts.access(chat.id, user.id, needed)
            asked = data.get("asked")
            # A confirmation is answered by whoever asked it, or by an owner or admin.
            if asked is not None and asked.asked_by != user.id and access.role < Role.ADMIN:
                raise NotTheAsker
            data["account"], data["smsc"], data["role"] = access.account, access.smsc, access.role
            await self.accounts.note_name(access.account.id, user.id, user.full_name)
        return True


class AccountToolsMiddleware(Gate):
    """For handlers that were given an account: ``book`` (its contacts and groups), ``black``
    (its black list), ``region`` (where numbers without a country code are read) and ``subs``
    (its subclients as this chat sees them)."""

    def __init__(self, books: PhoneBooks, black_lists: BlackLists) -> None:
        self.books = books
        self.black_lists = black_lists

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        if "smsc" in data:
            smsc, account = data["smsc"], data["account"]
            data["book"] = self.books.of(smsc, account)
            data["black"] = self.black_lists.of(smsc)
            data["region"] = region_for_site(account.site)
            chat: Chat | None = data.get("event_chat")
            user: User | None = data.get("event_from_user")
            chat_id = chat.id if chat is not None else user.id if user is not None else 0
            data["subs"] = Subclients(smsc, data["accounts"].repo, chat_id)
        return True


class GroupReplyMiddleware(BaseMiddleware):
    """In a group, a handler that leaves its sender in a conversation step gets a prompt to reply.

    Under Telegram's privacy mode the bot sees only commands and replies to its own messages in
    a group, so a typed answer must be a reply: a selective ForceReply, shown to that person only
    (they are mentioned in it), makes their app start one.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        state: FSMContext | None = data.get("state")
        if chat is None or chat.type == ChatType.PRIVATE or user is None or state is None:
            return await handler(event, data)
        before = await state.get_state()
        result = await handler(event, data)
        after = await state.get_state()
        if after is not None and after != before:
            bot: Bot = data["bot"]
            mention = f'<a href="tg://user?id={user.id}">{html.escape(user.full_name)}</a>'
            await bot.send_message(
                chat.id,
                _(
                    "{name}, answer with a reply to this message: in a group I see only "
                    "replies to my messages."
                ).format(name=mention),
                reply_markup=ForceReply(selective=True),
            )
        return result


class RequestMiddleware(BaseRequestMiddleware):
    """A session middleware: ``around`` is given the request to send and the method it sends."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        return await self.around(lambda: make_request(bot, method), bot, method)

    async def around(self, send: Send, bot: Bot, method: TelegramMethod[Any]) -> Any:
        raise NotImplementedError


class RetryAfterMiddleware(RequestMiddleware):
    """Waits out Telegram's flood control and sends again, up to ``max_wait`` seconds in all."""

    def __init__(self, max_wait: float = 60.0) -> None:
        self.max_wait = max_wait

    async def around(self, send: Send, bot: Bot, method: TelegramMethod[Any]) -> Any:
        waited = 0.0
        while True:
            try:
                return await send()
            except TelegramRetryAfter as exc:
                if waited + exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "Telegram flood control on %s: waiting %s s",
                    method.__api_method__,
                    exc.retry_after,
                )
                waited += exc.retry_after
                await asyncio.sleep(exc.retry_after)


class HeartbeatMiddleware(RequestMiddleware):
    """Beats after every ``getUpdates`` Telegram answered: polling is alive and gets through."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat

    async def around(self, send: Send, bot: Bot, method: TelegramMethod[Any]) -> Any:
        result = await send()
        if isinstance(method, GetUpdates):
            self.heartbeat.beat()
        return result


class OutgoingTextMiddleware(RequestMiddleware):
    """Every text the bot sends, made fit for Telegram in one place.

    Texts and captions lose bidi controls, zero-width and control characters (from users or SMSC,
    they could reorder or hide what the user reads) and are clipped to Telegram's limits in UTF-16
    units, HTML kept valid; button labels are cleaned; callback data over 64 bytes is refused here
    with a name, rather than by Telegram with "BUTTON_DATA_INVALID".
    """

    async def around(self, send: Send, bot: Bot, method: TelegramMethod[Any]) -> Any:
        html = self._parse_mode(bot, method) == ParseMode.HTML
        text = getattr(method, "text", None)
        if isinstance(text, str):
            limit = CALLBACK_ANSWER_LIMIT if isinstance(method, AnswerCallbackQuery) else TEXT_LIMIT
            setattr(method, "text", self._fit(text, limit, html=html))  # noqa: B010
        caption = getattr(method, "caption", None)
        if isinstance(caption, str):
            setattr(method, "caption", self._fit(caption, CAPTION_LIMIT, html=html))  # noqa: B010
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            fitted = self._markup(markup, method.__api_method__)
            setattr(method, "reply_markup", fitted)  # noqa: B010
        return await send()

    @staticmethod
    def _parse_mode(bot: Bot, method: TelegramMethod[Any]) -> Any:
        mode = getattr(method, "parse_mode", None)
        return bot.default[mode.name] if isinstance(mode, Default) else mode

    @staticmethod
    def _fit(text: str, limit: int, *, html: bool) -> str:
        # Telegram shows line breaks in every text, so they stay.
        text = clean(text, multiline=True)
        return clip_html(text, limit) if html else clip(text, limit)

    @staticmethod
    def _markup(markup: InlineKeyboardMarkup, api_method: str) -> InlineKeyboardMarkup:
        rows = []
        for row in markup.inline_keyboard:
            buttons = []
            for button in row:
                data = button.callback_data
                if data is not None and len(data.encode()) > CALLBACK_DATA_LIMIT:
                    msg = f"{api_method}: callback data {data[:12]!r}... is over 64 bytes"
                    raise ValueError(msg)
                label = clean(button.text)
                buttons.append(
                    button if label == button.text else button.model_copy(update={"text": label})
                )
            rows.append(buttons)
        return markup.model_copy(update={"inline_keyboard": rows})
