"""Replicas as real `python -m bot` processes on PostgreSQL and Redis: one polls, one waits."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.smsc.emulator import SmscEmulator
from tests.support.botapi import FakeTelegram
from tests.support.fixtures import TEST_TOKEN
from tests.support.replicas import ROOT, Replica
from tests.support.servers import Redis, redis_server

pytestmark = pytest.mark.postgres

TAKEOVER = 30.0


@pytest.fixture
async def smsc() -> AsyncIterator[SmscEmulator]:
    emulator = SmscEmulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "postgres"])
async def replicas(
    request: pytest.FixtureRequest,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    pg_url: str,
    tmp_path: Path,
) -> AsyncIterator[list[Replica]]:
    """Two processes of one bot: with Redis (its lock), or on PostgreSQL alone (an advisory
    lock; one replica configured, a second started by mistake or as a spare)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": fake_telegram.base_url,
        "SMSC_API_URL": smsc.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": pg_url,
        "POLLING_TASKS": "0",
    }
    if request.param == "redis":
        redis: Redis = request.getfixturevalue("redis")
        env.update(REDIS_URL=redis.url, REPLICAS="2")
    # A data directory each (for the health check's heartbeat); the data itself is in PostgreSQL.
    made = [Replica(name, {**env, "DATA_DIR": str(tmp_path / name)}) for name in ("one", "two")]
    try:
        yield made
    finally:
        for replica in made:
            if replica.process is not None and replica.process.returncode is None:
                await replica.kill(signal.SIGTERM)


async def test_a_standby_poller_takes_over_within_30_s_of_a_kill_9(
    replicas: list[Replica], fake_telegram: FakeTelegram
) -> None:
    one, two = replicas
    await one.start()
    await fake_telegram.wait_for_request("getUpdates", timeout=60)
    await one.wait_for_line("holding the poller lock")
    await two.start()
    await two.wait_for_line("waiting for the poller lock", within=60)
    # The standby counts as healthy: it is ready to take over.
    health = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.health", env=two.env, cwd=ROOT
    )
    assert await health.wait() == 0

    user = fake_telegram.user(4001)
    await user.send("/lang")
    await user.press(await user.expect_message(), "Русский")
    await user.expect_edit()
    assert not two.said("holding the poller lock")
    assert not two.said("Start polling")

    killed = time.monotonic()
    assert await one.kill(signal.SIGKILL) == -signal.SIGKILL
    since = len(fake_telegram.requests)
    await two.wait_for_line("holding the poller lock", within=TAKEOVER)
    await fake_telegram.wait_for_request("getUpdates", since=since, timeout=TAKEOVER)
    took = time.monotonic() - killed
    print(f"takeover after a kill -9: {took:.1f} s")
    assert took < TAKEOVER
    # What the first replica stored (the chat's language) is the second's too.
    await user.send("/help")
    assert "Что я умею" in (await user.expect_message()).text
    assert not any("Conflict" in line for line in one.lines + two.lines)


@pytest.mark.redis
async def test_a_poller_that_loses_its_lock_stops_polling_and_says_so(
    fake_telegram: FakeTelegram, smsc: SmscEmulator, pg_url: str, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": fake_telegram.base_url,
        "SMSC_API_URL": smsc.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": pg_url,
    }
    # A Redis of its own, to be stopped under the poller's feet.
    with redis_server() as private:
        poller = Replica("one", {**env, "REDIS_URL": private.url})
        await poller.start()
        await poller.wait_for_line("holding the poller lock", within=60)
    assert await poller.exited() == 1
    assert poller.said("lost the poller lock (")
    assert poller.lines[-1].strip() == (
        "lost the poller lock; stopped polling so that one replica polls"
    )
