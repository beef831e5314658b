"""``python -m bot``: long polling, or a webhook server when ``WEBHOOK_URL`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import asyncpg
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import MAX_CONCURRENT_UPDATES, App, build_app
from bot.config import Settings, load_settings
from bot.health import WEBHOOK_BEAT, Heartbeat
from bot.logs import setup_logging, url_passwords
from bot.poller import PgPollerLock, PollerLock
from bot.storage.engine import PostgresDatabase

log = logging.getLogger("bot")
WEBHOOK_PATH = "/telegram/webhook"


async def run_polling(app: App) -> None:
    settings = app.settings
    lock: PollerLock | PgPollerLock | None = None
    if settings.redis_url is not None:
        lock = PollerLock.from_url(settings.redis_url.get_secret_value(), app.bot.id)
    elif isinstance(app.database, PostgresDatabase) and settings.database_url is not None:
        lock = PgPollerLock(settings.database_url.get_secret_value(), app.bot.id)
    if lock is not None:
        # A standby is healthy while it waits: it is ready to take over.
        app.heartbeat.beat()
        beating = asyncio.create_task(beat_while_serving(app.heartbeat))
        log.info("waiting for the poller lock: another replica may be polling (hot standby)")
        try:
            await lock.acquire()
        except BaseException:
            await lock.release()
            await app.close()
            raise
        finally:
            beating.cancel()
        log.info("holding the poller lock: this replica polls")
    holding = asyncio.create_task(lock.hold()) if lock is not None else None
    stopping: set[asyncio.Task[None]] = set()

    def lost_lock(task: asyncio.Task[None]) -> None:
        # Lost (Redis gone, the lock expired, the session ended): another replica may poll now.
        # A cancelled hold is this process's own shutdown.
        if not task.cancelled():
            stopping.add(asyncio.create_task(stop_polling(app)))

    if holding is not None:
        holding.add_done_callback(lost_lock)
    try:
        await app.bot.delete_webhook(drop_pending_updates=False)
        await app.dp.start_polling(
            app.bot,
            close_bot_session=False,
            handle_as_tasks=app.settings.polling_tasks,
            tasks_concurrency_limit=MAX_CONCURRENT_UPDATES,
        )
    finally:
        lost = holding is not None and holding.done()
        if holding is not None:
            holding.cancel()
        await app.close()
        if lock is not None:
            await lock.release()
    if lost:
        raise SystemExit("lost the poller lock; stopped polling so that one replica polls")


async def stop_polling(app: App) -> None:
    # hold() first looks after TTL / 3, by when polling runs; RuntimeError: it had stopped already.
    with contextlib.suppress(RuntimeError):
        await app.dp.stop_polling()


async def beat_while_serving(heartbeat: Heartbeat) -> None:
    """The webhook's heartbeat: the event loop runs and the server is up until cancelled."""
    while True:
        heartbeat.beat()
        await asyncio.sleep(WEBHOOK_BEAT)


async def run_webhook(app: App) -> None:
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = web.Application()
    SimpleRequestHandler(dispatcher=app.dp, bot=app.bot, secret_token=secret).register(
        web_app, path=WEBHOOK_PATH
    )
    setup_application(web_app, app.dp, bot=app.bot)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    assert settings.webhook_url is not None
    await app.bot.set_webhook(settings.webhook_url + WEBHOOK_PATH, secret_token=secret)
    log.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
    beating = asyncio.create_task(beat_while_serving(app.heartbeat))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        beating.cancel()
        await runner.cleanup()
        await app.close()


async def main(settings: Settings) -> None:
    try:
        app = await build_app(settings)
    except (OSError, asyncpg.PostgresError) as exc:
        if settings.database_url is None:
            raise
        # One line, as for the other settings; asyncpg's errors name the host, not the password.
        raise SystemExit(f"DATABASE_URL: cannot open the database ({exc})") from None
    if settings.webhook_url:
        await run_webhook(app)
    else:
        await run_polling(app)


def run() -> None:
    settings = load_settings()
    secrets = [settings.bot_token.get_secret_value()]
    for value in (settings.secret_key, settings.webhook_secret):
        if value is not None:
            secrets += value.get_secret_value().split(",")
    for url in (settings.database_url, settings.redis_url):
        if url is not None:
            secrets += [url.get_secret_value(), *url_passwords(url.get_secret_value())]
    setup_logging(settings.log_level, secrets)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(settings))


if __name__ == "__main__":
    run()
