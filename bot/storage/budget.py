"""The failed-authorisation budget's memory in SQLite (``bot.smsc.budget.BudgetStore``)."""

from __future__ import annotations

import aiosqlite

from bot.smsc.budget import WINDOW, Failure, Purpose


class SqliteBudgetStore:
    """Failures and refused credentials (keyed hashes only) in the bot's database."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def load_failures(self, since: float) -> list[Failure]:
        # Older rows can never count again.
        await self._conn.execute("DELETE FROM auth_failures WHERE at < ?", (since,))
        rows = await self._conn.execute_fetchall(
            "SELECT host, at, user_id, kind, newcomer FROM auth_failures ORDER BY at"
        )
        return [
            Failure(host, float(at), user_id, Purpose(kind), bool(newcomer))
            for host, at, user_id, kind, newcomer in rows
        ]

    async def load_rejections(self) -> dict[bytes, float]:
        rows = await self._conn.execute_fetchall("SELECT key, at FROM auth_rejections")
        return {bytes(key): float(at) for key, at in rows}

    async def begin(self, failure: Failure) -> int:
        async with self._conn.execute(
            "INSERT INTO auth_failures (host, at, user_id, kind, newcomer, pending)"
            " VALUES (?, ?, ?, ?, ?, 1)",
            _values(failure),
        ) as cursor:
            row = cursor.lastrowid
        assert row is not None
        return row

    async def settle(self, row: int, failed_at: float | None) -> None:
        if failed_at is None:
            await self._conn.execute("DELETE FROM auth_failures WHERE id = ?", (row,))
            return
        await self._conn.execute(
            "UPDATE auth_failures SET at = ?, pending = 0 WHERE id = ?", (failed_at, row)
        )
        await self._prune(failed_at)

    async def add_failure(self, failure: Failure) -> None:
        await self._conn.execute(
            "INSERT INTO auth_failures (host, at, user_id, kind, newcomer, pending)"
            " VALUES (?, ?, ?, ?, ?, 0)",
            _values(failure),
        )
        await self._prune(failure.at)

    async def reject(self, key: bytes, at: float) -> None:
        await self._conn.execute(
            "INSERT INTO auth_rejections (key, at) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET at = excluded.at",
            (key, at),
        )

    async def unreject(self, key: bytes) -> None:
        await self._conn.execute("DELETE FROM auth_rejections WHERE key = ?", (key,))

    async def _prune(self, now: float) -> None:
        # Failures are rare (at most 4 in a window), so pruning on each costs nothing.
        await self._conn.execute("DELETE FROM auth_failures WHERE at < ?", (now - 2 * WINDOW,))


def _values(failure: Failure) -> tuple[object, ...]:
    return (
        failure.host,
        failure.at,
        failure.user_id,
        failure.purpose.value,
        int(failure.newcomer),
    )
