"""One long-polling replica at a time: a lock in Redis with a TTL, renewed while it polls.

Telegram lets one ``getUpdates`` reader in; a second would end the first's request (a conflict)
and both would spin. So a replica polls only while it holds the lock; the others wait for it as
hot standbys. If the holder dies, its lock expires after ``ttl`` seconds and a standby takes over
(within ``ttl`` plus one retry); a holder that cannot renew it stops polling and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

TTL: Final = 15.0
RETRY: Final = 0.5


class PollerLock:
    """The right to call getUpdates for one bot, held by one replica at a time."""

    def __init__(self, redis: Redis, bot_id: int, *, ttl: float = TTL) -> None:
        self._redis = redis
        self._ttl = ttl
        self._lock = Lock(
            redis,
            f"smsc-bot:poller:{bot_id}",
            timeout=ttl,
            sleep=RETRY,
            blocking=True,
            thread_local=False,
        )

    @classmethod
    def from_url(cls, url: str, bot_id: int, *, ttl: float = TTL) -> PollerLock:
        return cls(Redis.from_url(url), bot_id, ttl=ttl)

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
                log.error("lost the poller lock (%s); this replica stops polling", exc)
                return

    async def release(self) -> None:
        # Expired or taken over already: nothing of ours to release.
        with contextlib.suppress(LockError, RedisError):
            await self._lock.release()
        await self._redis.aclose()
