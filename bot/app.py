"""Assembles the bot: storage, SMSC connectors, the dispatcher with its middlewares and routers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
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
from bot.poller import NOTIFIER, ExclusiveLock, PgPollerLock, PollerLock, lead
from bot.services.blacklist import BlackLists
from bot.services.confirmations import ConfirmationService
from bot.services.notify import Notifier
from bot.services.outbox import Outbox
from bot.services.phonebook import PhoneBooks
from bot.services.stats import Trends
from bot.services.subclients import Resellers
from bot.smsc import SmscConnector, SmscSettings
from bot.smsc.budget import AuthBudget
from bot.smsc.emulator import SmscEmulator
from bot.smsc.shared import SharedLimits
from bot.storage.accounts import AccountRepo
from bot.storage.audit import AuditLog
from bot.storage.budget import SqlBudgetStore
from bot.storage.confirmations import ConfirmationRepo
from bot.storage.engine import (
    Database,
    PostgresDatabase,
    SqliteDatabase,
    connection_of,
    open_engine,
)
from bot.storage.fsm import SQLiteStorage
from bot.storage.fsm_pg import PostgresStorage
from bot.storage.notify import NotifyRepo
from bot.storage.stats import StatFigures
from bot.storage.updates import UpdateJournal
from bot.tasks import Background
from handlers import get_routers
from handlers.account import LOGIN_STATES
from handlers.notify.send import make_send

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
    # The SQLite connection (None on PostgreSQL); every repository goes through ``database``.
    db: aiosqlite.Connection | None
    database: Database
    accounts: AccountService
    i18n: I18n
    connector: SmscConnector
    in_flight: InFlight
    heartbeat: Heartbeat
    notifier: Notifier
    leading: Leader
    demo_connector: SmscConnector | None = None
    emulator: SmscEmulator | None = None
    shared: SharedLimits | None = None
    _closed: bool = field(default=False, repr=False)

    async def close(self) -> None:
        """Release everything; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self.in_flight.drain()
        await self.leading.stop()
        await self.connector.aclose()
        if self.shared is not None:
            await self.shared.aclose()
        if self.demo_connector is not None:
            await self.demo_connector.aclose()
        if self.emulator is not None:
            await self.emulator.stop()
        await self.dp.storage.close()
        await self.database.close()
        await self.bot.session.close()


def inline_sync_filters(dp: Dispatcher) -> int:
    """Run every plain-function filter (``F.text``, a lambda) on the event loop; how many.

    aiogram calls a filter that is not a coroutine function through ``asyncio.to_thread``: a
    thread hop for each ``F`` filter tried, ~6 for a /help before its router matches, which cost
    more CPU than the rest of the routing (bench/replicas.py). Ours only look at the update.
    """
    count = 0
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for handler in [observer._handler, *observer.handlers]:
                for found in handler.filters or ():
                    if found.awaitable:
                        continue
                    found.callback = _on_loop(found.callback)
                    found.awaitable = True
                    count += 1
    return count


def _on_loop(check: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return inline


def notifier_lock(
    settings: Settings, database: Database, bot_id: int
) -> Callable[[], ExclusiveLock] | None:
    """How replicas agree on the one that runs the notifier and its outbox (None: one process)."""
    if settings.redis_url is not None:
        url = settings.redis_url.get_secret_value()
        return lambda: PollerLock.from_url(url, bot_id, name=NOTIFIER)
    if isinstance(database, PostgresDatabase) and settings.database_url is not None:
        dsn = settings.database_url.get_secret_value()
        return lambda: PgPollerLock(dsn, bot_id, name=NOTIFIER)
    return None


class Leader:
    """Runs the notifier here: at once in a lone process, else while holding its lock."""

    def __init__(
        self,
        make_lock: Callable[[], ExclusiveLock] | None,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
    ) -> None:
        self._start = start
        self._stop = stop
        self._leading = (
            None
            if make_lock is None
            else Background(lambda: lead(make_lock, start, stop), "notify-lead")
        )
        self._running = False

    async def start(self) -> None:
        if self._leading is not None:
            self._leading.start()
        elif not self._running:
            self._running = True
            await self._start()

    async def stop(self) -> None:
        if self._leading is not None:
            await self._leading.stop()
        elif self._running:
            self._running = False
            await self._stop()


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
    url = settings.database_url.get_secret_value() if settings.database_url else None
    database = await open_engine(url, settings.data_dir, DB_NAME)
    db = database.conn if isinstance(database, SqliteDatabase) else None
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    box = SecretBox.from_settings(secret_key, settings.data_dir)
    # Through aiosqlite's connection surface (on PostgreSQL its compat), which every repository
    # takes, whichever way it is written (docs/scaling.md).
    conn = connection_of(database)
    repo = AccountRepo(conn, box)
    audit = AuditLog(conn)
    shared = None
    if settings.redis_url is not None:
        # A lease outlives the longest request (the gate's wait for a budget place, then the
        # call itself), so only a dead replica's leases ever expire.
        shared = SharedLimits.from_url(
            settings.redis_url.get_secret_value(),
            box.derive_key("shared-limits"),
            lease_ttl=2 * settings.smsc_timeout + 10,
        )
    budget = AuthBudget(
        SqlBudgetStore(database),
        box.derive_key("auth-budget"),
        clock=clock,
        call_timeout=settings.smsc_timeout,
        shared=shared,
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
        shared=shared,
    )
    emulator = demo_connector = None
    if settings.demo:
        emulator = SmscEmulator()
        demo_connector = SmscConnector(SmscSettings(api_url=await emulator.start()))
        log.info("demo mode: the built-in SMSC emulator serves the demo account")
    storage: SQLiteStorage | PostgresStorage
    if isinstance(database, PostgresDatabase):
        storage = PostgresStorage(database)
    else:
        assert db is not None
        storage = SQLiteStorage(db)
    notify_repo = NotifyRepo(conn)

    async def forget_login(chat_id: int) -> None:
        # The conversation keeps only encrypted values, but a log-out leaves none of them behind.
        await storage.clear_chat(chat_id, LOGIN_STATES)
        # Nor anything to notify the chat of: its settings name the SMSC account.
        await notify_repo.forget_chat(chat_id)

    accounts = AccountService(
        repo,
        connector,
        demo_connector=demo_connector,
        demo_provision=emulator.add_demo_account if emulator is not None else None,
        forget_login=forget_login,
    )
    i18n = build_i18n()
    # One store of finished days and months: /stats and the digest's chart fill it for each other.
    trends = Trends(StatFigures(conn))

    dp = Dispatcher(
        storage=storage,
        accounts=accounts,
        audit=audit,
        confirmations=ConfirmationService(ConfirmationRepo(database)),
        teams=accounts.teams,
        trends=trends,
        resellers=Resellers(),
    )
    in_flight = InFlight()
    # Order matters: the error layer sits inside the locale middleware so errors are localized.
    dp.update.outer_middleware(in_flight)
    # On PostgreSQL the chat's language is read every update: with the claim, in one statement.
    read_language = isinstance(database, PostgresDatabase)
    dp.update.outer_middleware(OnceMiddleware(UpdateJournal(database), read_language=read_language))
    dp.update.outer_middleware(SameUserMiddleware())
    dp.update.outer_middleware(AllowlistMiddleware(settings.allowed_user_ids))
    # Replicas share the database: a language one of them saved is news to the others.
    prefs = LanguagePrefs(repo, cache=db is not None)
    dp.update.outer_middleware(ChatLocaleMiddleware(i18n, prefs))
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
    inline_sync_filters(dp)

    heartbeat = Heartbeat(settings.data_dir)
    bot = make_bot(settings, heartbeat)
    prepare, send, fresh = make_send(bot, i18n, prefs, notify_repo)
    notifier = Notifier(
        notify_repo,
        accounts,
        Outbox(notify_repo, send, prepare=prepare, fresh=fresh),
        poll_seconds=settings.notify_poll_seconds,
        trends=trends,
        clock=clock,
    )
    dp["notifier"] = notifier

    async def start_notifier() -> None:
        await notifier.outbox.start()
        notifier.start()

    async def stop_notifier() -> None:
        await notifier.stop()
        await notifier.outbox.stop()

    leading = Leader(notifier_lock(settings, database, bot.id), start_notifier, stop_notifier)

    async def on_startup(bot: Bot) -> None:
        await set_command_menus(bot, i18n)
        # Alive from here on; the first long poll may take its whole timeout to answer.
        heartbeat.beat()
        await leading.start()

    async def on_shutdown() -> None:
        await in_flight.drain()
        await leading.stop()

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
        database=database,
        accounts=accounts,
        i18n=i18n,
        connector=connector,
        in_flight=in_flight,
        heartbeat=heartbeat,
        notifier=notifier,
        leading=leading,
        demo_connector=demo_connector,
        emulator=emulator,
        shared=shared,
    )
