"""The failed-authorisation budget's memory in SQLite (``bot.smsc.budget.BudgetStore``).

Rows are plain values (host, time, Telegram user, purpose, newcomer): storage knows nothing of SMSC.
"""

from __future__ import annotations

from typing import Final

import aiosqlite

from bot.storage.engine import Database, PgConnection, as_database

FailureRow = tuple[str, float, int | None, str, bool]
# SMSC counts failures over 30 minutes; older rows can never count again.
KEEP: Final = 60 * 60.0


class SqlBudgetStore:
    """Failures and refused credentials (keyed hashes only) in the database, either engine."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection | Database) -> None:
        self._db = as_database(conn)

    async def load_failures(self, since: float) -> list[FailureRow]:
        # Older rows can never count again.
        await self._db.execute("DELETE FROM auth_failures WHERE at < ?", (since,))
        rows = await self._db.fetchall(
            "SELECT host, at, user_id, kind, newcomer FROM auth_failures ORDER BY at"
        )
        return [
            (str(host), float(at), user_id, str(kind), bool(newcomer))
            for host, at, user_id, kind, newcomer in rows
        ]

    async def load_rejections(self) -> dict[bytes, float]:
        rows = await self._db.fetchall("SELECT key, at FROM auth_rejections")
        return {bytes(key): float(at) for key, at in rows}

    async def begin(self, failure: FailureRow) -> int:
        row = await self._db.fetchone(
            "INSERT INTO auth_failures (host, at, user_id, kind, newcomer, pending)"
            " VALUES (?, ?, ?, ?, ?, 1) RETURNING id",
            _values(failure),
        )
        assert row is not None
        return int(row[0])

    async def settle(self, row: int, failed_at: float | None) -> None:
        if failed_at is None:
            await self._db.execute("DELETE FROM auth_failures WHERE id = ?", (row,))
            return
        await self._db.execute(
            "UPDATE auth_failures SET at = ?, pending = 0 WHERE id = ?", (failed_at, row)
        )
        await self._prune(failed_at)

    async def add_failure(self, failure: FailureRow) -> None:
        await self._db.execute(
            "INSERT INTO auth_failures (host, at, user_id, kind, newcomer, pending)"
            " VALUES (?, ?, ?, ?, ?, 0)",
            _values(failure),
        )
        await self._prune(failure[1])

    async def reject(self, key: bytes, at: float) -> None:
        await self._db.execute(
            "INSERT INTO auth_rejections (key, at) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET at = excluded.at",
            (key, at),
        )

    async def unreject(self, key: bytes) -> None:
        await self._db.execute("DELETE FROM auth_rejections WHERE key = ?", (key,))

    async def _prune(self, now: float) -> None:
        # Failures are rare (at most 4 in a window), so pruning on each costs nothing.
        await self._db.execute("DELETE FROM auth_failures WHERE at < ?", (now - KEEP,))


def _values(failure: FailureRow) -> tuple[object, ...]:
    host, at, user_id, purpose, newcomer = failure
    return (host, at, user_id, purpose, int(newcomer))


# The name it had while SQLite was the only engine.
SqliteBudgetStore = SqlBudgetStore
