"""Assembles the bot: storage, SMSC connectors, the dispatcher with its middlewares and routers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import TelegramObject
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.i18n import I18n

from bot.accounts import AccountService
from bot.commands import set_command_menus
from bot.config import Settings
from bot.crypto import SecretBox
from bot.errors import ErrorLayerMiddleware
from bot.health import Heartbeat
from bot.i18n import ChatLocaleMiddleware, LanguagePrefs, build_i18n
from bot.middlewares import (
    AccountMiddleware,
    AccountToolsMiddleware,
    AllowlistMiddleware,
    GroupReplyMiddleware,
    Handler,
    HeartbeatMiddleware,
    OnceMiddleware,
    OutgoingTextMiddleware,
    RetryAfterMiddleware,
    SameUserMiddleware,
)
from bot.services.blacklist import BlackLists
from bot.services.confirmations import ConfirmationService
from bot.services.phonebook import PhoneBooks
from bot.services.stats import Trends
from bot.smsc import SmscConnector, SmscSettings
from bot.smsc.budget import AuthBudget
from bot.smsc.emulator import SmscEmulator
from bot.storage.accounts import AccountRepo
from bot.storage.audit import AuditLog
from bot.storage.budget import SqliteBudgetStore
from bot.storage.confirmations import ConfirmationRepo
from bot.storage.db import open_database
from bot.storage.fsm import SQLiteStorage
from bot.storage.stats import StatFigures
from bot.storage.updates import UpdateJournal
from handlers import get_routers
from handlers.account import LOGIN_STATES

log = logging.getLogger(__name__)

DB_NAME = "smsc-bot.sqlite3"
# Updates handled at once. Unbounded, a burst queues thousands of SMSC calls behind the per-login
# cap and the last ones time out; bounded, the rest wait in Telegram's queue instead.
MAX_CONCURRENT_UPDATES = 100
DRAIN_TIMEOUT = 10.0


class InFlight(BaseMiddleware):
    """Counts updates being handled, so shutdown can wait for them before storage closes."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if not self.count:
                self._idle.set()

    async def drain(self) -> None:
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await self._idle.wait()
        except TimeoutError:
            log.warning(
                "shutdown: %d updates still running after %.0f s", self.count, DRAIN_TIMEOUT
            )


@dataclass
class App:
    settings: Settings
    bot: Bot
    dp: Dispatcher
    db: aiosqlite.Connection
    accounts: AccountService
    i18n: I18n
    connector: SmscConnector
    in_flight: InFlight
    heartbeat: Heartbeat
    demo_connector: SmscConnector | None = None
    emulator: SmscEmulator | None = None
    _closed: bool = field(default=False, repr=False)

    async def close(self) -> None:
        """Release everything; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self.in_flight.drain()
        await self.connector.aclose()
        if self.demo_connector is not None:
            await self.demo_connector.aclose()
        if self.emulator is not None:
            await self.emulator.stop()
        await self.dp.storage.close()
        await self.db.close()
        await self.bot.session.close()


def make_bot(settings: Settings, heartbeat: Heartbeat) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    # Outermost first: texts are fitted once, before any flood-control retry.
    session.middleware(OutgoingTextMiddleware())
    session.middleware(RetryAfterMiddleware())
    session.middleware(HeartbeatMiddleware(heartbeat))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def build_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> App:
    """The application on ``settings``; ``clock`` (epoch seconds) times the failure budget."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = await open_database(settings.data_dir / DB_NAME)
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    box = SecretBox.from_settings(secret_key, settings.data_dir)
    repo = AccountRepo(db, box)
    audit = AuditLog(db)
    budget = AuthBudget(
        SqliteBudgetStore(db),
        box.derive_key("auth-budget"),
        clock=clock,
        call_timeout=settings.smsc_timeout,
    )
    await budget.load()
    connector = SmscConnector(
        SmscSettings(
            api_url=settings.smsc_api_url,
            call_timeout=settings.smsc_timeout,
            max_concurrency=settings.smsc_max_concurrency,
            cache_ttl=settings.smsc_cache_ttl,
        ),
        budget=budget,
    )
    emulator = demo_connector = None
    if settings.demo:
        emulator = SmscEmulator()
        demo_connector = SmscConnector(SmscSettings(api_url=await emulator.start()))
        log.info("demo mode: the built-in SMSC emulator serves the demo account")
    storage = SQLiteStorage(db)

    async def forget_login(chat_id: int) -> None:
        # The conversation keeps only encrypted values, but a log-out leaves none of them behind.
        await storage.clear_chat(chat_id, LOGIN_STATES)

    accounts = AccountService(
        repo,
        connector,
        demo_connector=demo_connector,
        demo_provision=emulator.add_demo_account if emulator is not None else None,
        forget_login=forget_login,
    )
    i18n = build_i18n()

    dp = Dispatcher(
        storage=storage,
        accounts=accounts,
        audit=audit,
        confirmations=ConfirmationService(ConfirmationRepo(db)),
        teams=accounts.teams,
        trends=Trends(StatFigures(db)),
    )
    in_flight = InFlight()
    # Order matters: the error layer sits inside the locale middleware so errors are localized.
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(OnceMiddleware(UpdateJournal(db)))
    dp.update.outer_middleware(SameUserMiddleware())
    dp.update.outer_middleware(AllowlistMiddleware(settings.allowed_user_ids))
    dp.update.outer_middleware(ChatLocaleMiddleware(i18n, LanguagePrefs(repo)))
    dp.update.outer_middleware(ErrorLayerMiddleware(accounts))
    # Before buttons are answered: a role too low for a button is said in an alert on it (the
    # error layer answers a button whose chat has no account).
    account_middleware = AccountMiddleware(accounts)
    dp.message.middleware(account_middleware)
    dp.callback_query.middleware(account_middleware)
    dp.callback_query.middleware(CallbackAnswerMiddleware(pre=True))
    tools = AccountToolsMiddleware(PhoneBooks(), BlackLists())
    dp.message.middleware(tools)
    dp.callback_query.middleware(tools)
    group_reply = GroupReplyMiddleware()
    dp.message.middleware(group_reply)
    dp.callback_query.middleware(group_reply)
    dp.include_routers(*get_routers())

    heartbeat = Heartbeat(settings.data_dir)
    bot = make_bot(settings, heartbeat)

    async def on_startup(bot: Bot) -> None:
        await set_command_menus(bot, i18n)
        # Alive from here on; the first long poll may take its whole timeout to answer.
        heartbeat.beat()

    async def on_shutdown() -> None:
        await in_flight.drain()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    # aiogram registers its storage close as the first shutdown hook; handlers still running
    # would then meet a closed database, so the drain must come first.
    dp.shutdown.handlers.insert(0, dp.shutdown.handlers.pop())
    return App(
        settings=settings,
        bot=bot,
        dp=dp,
        db=db,
        accounts=accounts,
        i18n=i18n,
        connector=connector,
        in_flight=in_flight,
        heartbeat=heartbeat,
        demo_connector=demo_connector,
        emulator=emulator,
    )
