"""The real servers the scale tests run against start, answer and are on loopback."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.support.servers import Postgres, Redis


@pytest.mark.postgres
async def test_postgres_answers(postgres: Postgres) -> None:
    conn = await asyncpg.connect(postgres.url)
    try:
        assert await conn.fetchval("SELECT current_setting('listen_addresses')") == "127.0.0.1"
        assert (await conn.fetchval("SHOW server_version")).split(".")[0].isdigit()
    finally:
        await conn.close()


@pytest.mark.redis
async def test_redis_answers(redis: Redis) -> None:
    client = aioredis.from_url(redis.url)
    try:
        assert await client.ping()
        assert await client.eval("return redis.call('INCR', KEYS[1])", 1, "probe") >= 1
    finally:
        await client.aclose()
