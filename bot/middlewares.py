"""Middlewares: who may talk to the bot, which SMSC account a handler uses, flood control."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update, User

from bot.accounts import AccountService
from bot.storage.updates import UpdateJournal

log = logging.getLogger(__name__)

ACCOUNT_FLAG = "account"


class AllowlistMiddleware(BaseMiddleware):
    """With ``ALLOWED_USER_IDS`` set, updates from anyone else get no answer at all."""

    def __init__(self, allowed: frozenset[int]) -> None:
        self.allowed = allowed

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if self.allowed and (user is None or user.id not in self.allowed):
            return None
        return await handler(event, data)


class OnceMiddleware(BaseMiddleware):
    """Skips an update Telegram delivers again after a crash (see ``bot.storage.updates``)."""

    def __init__(self, journal: UpdateJournal) -> None:
        self.journal = journal

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        # update_id 0 marks updates the bot made itself (a retry button replays a command).
        if isinstance(event, Update) and event.update_id:
            bot: Bot = data["bot"]
            if not await self.journal.claim(bot.id, event.update_id):
                log.info("update %s was taken on before a restart; skipped", event.update_id)
                return None
        return await handler(event, data)


class AccountMiddleware(BaseMiddleware):
    """Hands ``account`` and ``smsc`` to handlers flagged ``account``; raises when there is none."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if get_flag(data, ACCOUNT_FLAG):
            chat = data["event_chat"]
            user: User | None = data.get("event_from_user")
            data["account"], data["smsc"] = await self.accounts.client_for(
                chat.id, user.id if user else None
            )
        return await handler(event, data)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Waits out Telegram's flood control and sends again, up to ``max_wait`` seconds in all."""

    def __init__(self, max_wait: float = 60.0) -> None:
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
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
