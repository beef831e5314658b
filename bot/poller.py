"""One long-polling process at a time: a lock in Redis with a TTL, or a PostgreSQL advisory lock.

The same locks keep the notifier to one process (``lead``): ``name`` tells them apart.

Telegram lets one ``getUpdates`` reader in; a second would end the first's request (a conflict)
and both would spin. So a replica polls only while it holds the lock; the others wait for it as
hot standbys. In Redis, if the holder dies its lock expires after ``ttl`` seconds and a standby
takes over (within ``ttl`` plus one retry); without Redis, on PostgreSQL, the lock is held by the
holder's session and freed the moment the server sees it gone. A holder that loses its lock
stops polling and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import asyncpg
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

TTL: Final = 15.0
RETRY: Final = 0.5
POLLER: Final = "poller"
NOTIFIER: Final = "notifier"
# Each name's advisory lock ids on PostgreSQL: a range of its own.
_PG_RANGE: Final = {POLLER: 0, NOTIFIER: 1}


class PollerLock:
    """The right to call getUpdates for one bot, held by one replica at a time."""

    def __init__(self, redis: Redis, bot_id: int, *, ttl: float = TTL, name: str = POLLER) -> None:
        self._redis = redis
        self._ttl = ttl
        self._name = name
        self._lock = Lock(
            redis,
            f"smsc-bot:{name}:{bot_id}",
            timeout=ttl,
            sleep=RETRY,
            blocking=True,
            thread_local=False,
        )

    @classmethod
    def from_url(cls, url: str, bot_id: int, *, ttl: float = TTL, name: str = POLLER) -> PollerLock:
        return cls(Redis.from_url(url), bot_id, ttl=ttl, name=name)

    async def acquire(self) -> None:
        """Wait until this replica holds the lock (another may poll meanwhile)."""
        await self._lock.acquire()

    async def hold(self) -> None:
        """Renew the lock every third of its TTL; return when it could not be renewed."""
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self._lock.reacquire()
            except (LockError, RedisError) as exc:
                log.error("lost the %s lock (%s); this replica stops", self._name, exc)
                return

    async def release(self) -> None:
        # Expired or taken over already: nothing of ours to release.
        with contextlib.suppress(LockError, RedisError):
            await self._lock.release()
        await self._redis.aclose()


# PostgreSQL's advisory lock ids are one bigint; negative ones are this module's (the schema
# migration's is positive): the poller's from -1 down, the notifier's below -2**62.
def _pg_key(bot_id: int, name: str = POLLER) -> int:
    return -1 - (bot_id & 0x3FFF_FFFF_FFFF_FFFF) - (_PG_RANGE[name] << 62)


class PgPollerLock:
    """The same right as ``PollerLock``, as a session advisory lock on its own connection."""

    def __init__(self, url: str, bot_id: int, *, name: str = POLLER) -> None:
        self._url = url
        self._name = name
        self._key = _pg_key(bot_id, name)
        self._conn: asyncpg.Connection | None = None

    async def acquire(self) -> None:
        self._conn = await asyncpg.connect(self._url)
        # Waits in the server until the holder's session ends; no polling.
        await self._conn.execute("SELECT pg_advisory_lock($1)", self._key)

    async def hold(self) -> None:
        """Check the session every few seconds; return when it is gone (the lock with it)."""
        assert self._conn is not None
        while True:
            await asyncio.sleep(TTL / 3)
            try:
                await self._conn.fetchval("SELECT 1")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.error("lost the %s lock (%s); this replica stops", self._name, exc)
                return

    async def release(self) -> None:
        if self._conn is not None:
            # Closing the session releases the lock.
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._conn.close()


ExclusiveLock = PollerLock | PgPollerLock


async def lead(
    make_lock: Callable[[], ExclusiveLock],
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    name: str = NOTIFIER,
) -> None:
    """Run something (``start`` .. ``stop``) only while this process holds the lock; wait as a
    standby otherwise, and again after losing it. Cancel to stop (the lock is released)."""
    while True:
        lock = make_lock()
        failed = False
        try:
            await lock.acquire()
            log.info("holding the %s lock: this replica runs it", name)
            await start()
            try:
                await lock.hold()
            finally:
                await stop()
        except Exception as exc:
            # A cancel that landed inside a client's own timeout comes out as TimeoutError on
            # Python 3.11 (asyncio.timeout); the task is still being cancelled, so stop.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from exc
            # Redis or the database unreachable, or the start failed: a standby again, after a
            # pause (no retry storm), the lock released first so another replica may run it.
            log.error("the %s lock: %s", name, exc)
            failed = True
        finally:
            await lock.release()
        if failed:
            await asyncio.sleep(TTL / 3)
