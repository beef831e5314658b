"""Replicas on one Redis: one process runs the notifier, a standby takes over when it goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis as RedisClient

from bot.app import Leader, notifier_lock
from bot.config import Settings
from bot.poller import NOTIFIER, PollerLock
from bot.storage.engine import open_engine
from tests.support.fixtures import TEST_TOKEN
from tests.support.servers import Redis

pytestmark = pytest.mark.redis

BOT_ID = 42
WITHIN = 10.0
KEY = f"smsc-bot:{NOTIFIER}:{BOT_ID}"


class Replica:
    """One process's Leader, with what its notifier is doing."""

    def __init__(self, make_lock: Callable[[], PollerLock] | None) -> None:
        self.running = asyncio.Event()
        self.stopped = asyncio.Event()
        self.starts = 0
        self.leader = Leader(make_lock, self._start, self._stop)

    async def _start(self) -> None:
        self.starts += 1
        self.stopped.clear()
        self.running.set()

    async def _stop(self) -> None:
        self.running.clear()
        self.stopped.set()


@pytest.fixture
async def pair(redis: Redis) -> AsyncIterator[tuple[Replica, Replica]]:
    def make_lock() -> PollerLock:
        # A short TTL: a holder that stops renewing is replaced within a second or two.
        return PollerLock.from_url(redis.url, BOT_ID, ttl=1.5, name=NOTIFIER)

    replicas = (Replica(make_lock), Replica(make_lock))
    try:
        yield replicas
    finally:
        for replica in replicas:
            await replica.leader.stop()


async def renewals(client: RedisClient, count: int) -> None:
    """Until Redis has set the lock's expiry ``count`` times from now (a renewal's PEXPIRE; a
    failed SET NX by a standby changes nothing and says nothing)."""
    await client.config_set("notify-keyspace-events", "Kg")
    pubsub = client.pubsub()
    await pubsub.psubscribe(f"__keyspace@*__:{KEY}")
    try:
        seen = 0
        async for message in pubsub.listen():
            if message["type"] == "pmessage" and message["data"] == b"expire":
                seen += 1
                if seen == count:
                    return
    finally:
        await pubsub.aclose()


async def test_one_replica_runs_the_notifier_and_a_standby_takes_over(
    pair: tuple[Replica, Replica], redis: Redis
) -> None:
    first, second = pair
    await first.leader.start()
    await asyncio.wait_for(first.running.wait(), WITHIN)
    client = RedisClient.from_url(redis.url)
    try:
        holder = await client.get(KEY)
        assert holder is not None
        await second.leader.start()
        # The second waits on the lock the first holds: after the first renewed it twice (a
        # renewal every TTL / 3, seen by Redis), it is still the first's, and only the first runs.
        await asyncio.wait_for(renewals(client, 2), WITHIN)
        assert await client.get(KEY) == holder
    finally:
        await client.aclose()
    assert first.running.is_set() and second.starts == 0

    await first.leader.stop()
    assert first.stopped.is_set()
    await asyncio.wait_for(second.running.wait(), WITHIN)
    assert second.starts == 1


async def test_a_holder_whose_lock_expired_stops_and_the_standby_runs(
    pair: tuple[Replica, Replica], redis: Redis
) -> None:
    first, second = pair
    await first.leader.start()
    await asyncio.wait_for(first.running.wait(), WITHIN)
    await second.leader.start()
    # What a dead holder leaves behind once its TTL ran out: no lock.
    client = RedisClient.from_url(redis.url)
    try:
        assert await client.delete(KEY) == 1
    finally:
        await client.aclose()
    await asyncio.wait_for(second.running.wait(), WITHIN)
    # The old holder notices at its next renewal and stops, so never do both run for long.
    await asyncio.wait_for(first.stopped.wait(), WITHIN)
    assert second.running.is_set() and not first.running.is_set()


async def test_one_process_runs_the_notifier_without_a_lock(tmp_path: Path) -> None:
    settings = Settings(bot_token=TEST_TOKEN, data_dir=tmp_path)  # type: ignore[call-arg]
    database = await open_engine(None, tmp_path, "x.sqlite3")
    try:
        assert notifier_lock(settings, database, BOT_ID) is None
    finally:
        await database.close()
    replica = Replica(None)
    await replica.leader.start()
    assert replica.running.is_set()
    await replica.leader.stop()
    assert replica.stopped.is_set()


class SwallowingLock:
    """A lock whose client turns the first cancel into TimeoutError, as asyncio.timeout can."""

    swallowed = 0
    acquires = 0

    async def acquire(self) -> None:
        SwallowingLock.acquires += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if SwallowingLock.swallowed:
                raise
            SwallowingLock.swallowed += 1
            raise TimeoutError from None

    async def hold(self) -> None:
        raise AssertionError("never acquired")

    async def release(self) -> None:
        return None


async def test_a_leader_stops_even_when_a_client_swallows_the_cancel() -> None:
    replica = Replica(SwallowingLock)  # type: ignore[arg-type]
    await replica.leader.start()
    # Let the lead task reach acquire() before it is cancelled.
    await asyncio.sleep(0)
    await asyncio.wait_for(replica.leader.stop(), WITHIN)
    # Stopped, not back to waiting for the lock as a standby.
    assert SwallowingLock.acquires == 1 and replica.starts == 0
