"""Notification settings and the state that keeps each notification from being sent twice.

An SMSC account is named by the caller's identity string (``AccountService.identity``), a
receiver by its chat. Portable SQL only (upserts with ``ON CONFLICT``): no SQLite-only verbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.storage.engine import PgConnection

KINDS = ("balance", "senders", "digest")


@dataclass(frozen=True, slots=True)
class Sub:
    """One chat's wish to receive one kind of notification about one SMSC account."""

    chat_id: int
    account: str
    kind: str
    enabled: bool
    param: str | None = None
    at_minute: int | None = None
    since: float = 0.0


@dataclass(frozen=True, slots=True)
class Followed:
    """A followed account's schedule."""

    account: str
    next_balance: float
    next_senders: float
    refused_told: bool


class NotifyRepo:
    """The notify_* tables (migrations 8 and 9)."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection) -> None:
        self._conn = conn

    # -- settings --------------------------------------------------------------------------------

    async def set_watch(self, account: str, kind: str, enabled: bool) -> None:
        """What the account is watched for (a team's admins decide: ``Notifier.change``)."""
        await self._conn.execute(
            "INSERT INTO notify_watch (account, kind, enabled) VALUES (?, ?, ?)"
            " ON CONFLICT (account, kind) DO UPDATE SET enabled = excluded.enabled",
            (account, kind, int(enabled)),
        )

    async def watched(self, account: str) -> set[str]:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT kind FROM notify_watch WHERE account = ? AND enabled = 1", (account,)
            )
        )
        return {str(row[0]) for row in rows}

    async def set_sub(self, sub: Sub) -> None:
        await self._conn.execute(
            "INSERT INTO notify_subs (chat_id, account, kind, enabled, param, at_minute, since)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, account, kind) DO UPDATE SET enabled = excluded.enabled,"
            " param = excluded.param, at_minute = excluded.at_minute, since = excluded.since",
            (
                sub.chat_id,
                sub.account,
                sub.kind,
                int(sub.enabled),
                sub.param,
                sub.at_minute,
                sub.since,
            ),
        )

    async def subs_of(self, chat_id: int, account: str) -> dict[str, Sub]:
        """The chat's settings for the account, by kind."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT chat_id, account, kind, enabled, param, at_minute, since FROM notify_subs"
                " WHERE chat_id = ? AND account = ?",
                (chat_id, account),
            )
        )
        return {str(row[2]): _sub(row) for row in rows}

    async def receivers(self, account: str, kind: str) -> list[Sub]:
        """Chats receiving ``kind`` about the account, when the account is watched for it."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT s.chat_id, s.account, s.kind, s.enabled, s.param, s.at_minute, s.since"
                " FROM notify_subs s JOIN notify_watch w"
                " ON w.account = s.account AND w.kind = s.kind"
                " WHERE s.account = ? AND s.kind = ? AND s.enabled = 1 AND w.enabled = 1"
                " ORDER BY s.chat_id",
                (account, kind),
            )
        )
        return [_sub(row) for row in rows]

    async def followers(self, account: str) -> list[int]:
        """Chats with any notification of the account switched on, oldest setting first."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT chat_id FROM notify_subs WHERE account = ? AND enabled = 1"
                " GROUP BY chat_id ORDER BY min(since), chat_id",
                (account,),
            )
        )
        return [int(row[0]) for row in rows]

    async def drop_chat(self, chat_id: int, now: float) -> None:
        """The chat blocked the bot: it receives nothing any more, queued messages included,
        and is remembered as blocked until ``unblock_chat``."""
        await self._conn.execute(
            "INSERT INTO notify_blocked (chat_id, blocked_at) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO NOTHING",
            (chat_id, now),
        )
        await self._conn.execute("DELETE FROM notify_subs WHERE chat_id = ?", (chat_id,))
        await self._conn.execute("DELETE FROM notify_outbox WHERE chat_id = ?", (chat_id,))

    async def blocked_chats(self) -> set[int]:
        rows = list(await self._conn.execute_fetchall("SELECT chat_id FROM notify_blocked"))
        return {int(row[0]) for row in rows}

    async def unblock_chat(self, chat_id: int) -> None:
        await self._conn.execute("DELETE FROM notify_blocked WHERE chat_id = ?", (chat_id,))

    async def forget_account(self, account: str) -> None:
        """Nobody can read the account any more (disconnected, every chat gone from it): its
        settings and state go, so it is not polled."""
        for table in (
            "notify_subs",
            "notify_watch",
            "notify_accounts",
            "notify_balance",
            "notify_senders",
            "notify_digests",
            "notify_figures",
        ):
            # The table names are the constants above, never input.
            await self._conn.execute(f"DELETE FROM {table} WHERE account = ?", (account,))  # noqa: S608

    async def forget_chat(self, chat_id: int) -> None:
        """The chat logged out: it follows no account any more (its zone and language stay)."""
        await self._conn.execute("DELETE FROM notify_subs WHERE chat_id = ?", (chat_id,))

    async def get_tz(self, chat_id: int) -> str | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT tz FROM notify_chats WHERE chat_id = ?", (chat_id,)
            )
        )
        return str(rows[0][0]) if rows else None

    async def set_tz(self, chat_id: int, tz: str) -> None:
        await self._conn.execute(
            "INSERT INTO notify_chats (chat_id, tz) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET tz = excluded.tz",
            (chat_id, tz),
        )

    async def get_language(self, chat_id: int) -> str | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT language FROM notify_chats WHERE chat_id = ?", (chat_id,)
            )
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    async def set_language(self, chat_id: int, language: str, default_tz: str) -> None:
        await self._conn.execute(
            "INSERT INTO notify_chats (chat_id, tz, language) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language",
            (chat_id, default_tz, language),
        )

    # -- polling schedule ------------------------------------------------------------------------

    async def follow(self, account: str, next_balance: float, next_senders: float) -> None:
        """Start the account's schedule; an account already followed keeps its own."""
        await self._conn.execute(
            "INSERT INTO notify_accounts (account, next_balance, next_senders) VALUES (?, ?, ?)"
            " ON CONFLICT (account) DO NOTHING",
            (account, next_balance, next_senders),
        )

    async def followed(self) -> list[Followed]:
        """Accounts that some chat receives something about, with their schedule."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT a.account, a.next_balance, a.next_senders, a.refused_told"
                " FROM notify_accounts a WHERE EXISTS (SELECT 1 FROM notify_subs s"
                " WHERE s.account = a.account AND s.enabled = 1) ORDER BY a.account"
            )
        )
        return [Followed(str(r[0]), float(r[1]), float(r[2]), bool(r[3])) for r in rows]

    async def schedule(
        self, account: str, *, next_balance: float | None = None, next_senders: float | None = None
    ) -> None:
        await self._conn.execute(
            "UPDATE notify_accounts SET next_balance = coalesce(?, next_balance),"
            " next_senders = coalesce(?, next_senders) WHERE account = ?",
            (next_balance, next_senders, account),
        )

    async def set_refused_told(self, account: str, told: bool) -> bool:
        """Set the flag; True when it changed (so a refusal is told once)."""
        async with self._conn.execute(
            "UPDATE notify_accounts SET refused_told = ? WHERE account = ? AND refused_told <> ?",
            (int(told), account, int(told)),
        ) as cursor:
            return cursor.rowcount > 0

    # -- what was already said -------------------------------------------------------------------

    async def balance_armed(self, account: str, threshold: str) -> bool | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT armed FROM notify_balance WHERE account = ? AND threshold = ?",
                (account, threshold),
            )
        )
        return bool(rows[0][0]) if rows else None

    async def set_balance_armed(self, account: str, threshold: str, armed: bool) -> bool:
        """Record the state; True when it changed (only one caller gets to fire an alert)."""
        async with self._conn.execute(
            "INSERT INTO notify_balance (account, threshold, armed) VALUES (?, ?, ?)"
            " ON CONFLICT (account, threshold) DO UPDATE SET armed = excluded.armed"
            " WHERE notify_balance.armed <> excluded.armed",
            (account, threshold, int(armed)),
        ) as cursor:
            return cursor.rowcount > 0

    async def sender_statuses(self, account: str) -> dict[tuple[str, str], int]:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT sender, operator, status FROM notify_senders WHERE account = ?", (account,)
            )
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    async def add_sender_statuses(
        self, account: str, statuses: Iterable[tuple[str, str, int]]
    ) -> None:
        """Statuses seen for the first time: recorded, nothing to report."""
        await self._conn.executemany(
            "INSERT INTO notify_senders (account, sender, operator, status) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (account, sender, operator) DO NOTHING",
            [(account, sender, operator, status) for sender, operator, status in statuses],
        )

    async def change_sender_status(
        self, account: str, sender: str, operator: str, old: int, new: int
    ) -> bool:
        """Record a change; True for the one caller that saw ``old`` turn into ``new``."""
        async with self._conn.execute(
            "UPDATE notify_senders SET status = ?"
            " WHERE account = ? AND sender = ? AND operator = ? AND status = ?",
            (new, account, sender, operator, old),
        ) as cursor:
            return cursor.rowcount > 0

    async def claim_digest(self, chat_id: int, account: str, period: str, now: float) -> bool:
        """True for the one caller that queues this digest; any later call gets False."""
        async with self._conn.execute(
            "INSERT INTO notify_digests (chat_id, account, period, queued_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id, account, period) DO NOTHING",
            (chat_id, account, period, now),
        ) as cursor:
            return cursor.rowcount > 0

    async def digest_queued(self, chat_id: int, account: str, period: str) -> bool:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT 1 FROM notify_digests WHERE chat_id = ? AND account = ? AND period = ?",
                (chat_id, account, period),
            )
        )
        return bool(rows)

    async def figures(self, account: str, period: str) -> str | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT figures FROM notify_figures WHERE account = ? AND period = ?",
                (account, period),
            )
        )
        return str(rows[0][0]) if rows else None

    async def save_figures(self, account: str, period: str, figures: str) -> None:
        await self._conn.execute(
            "INSERT INTO notify_figures (account, period, figures) VALUES (?, ?, ?)"
            " ON CONFLICT (account, period) DO UPDATE SET figures = excluded.figures",
            (account, period, figures),
        )

    # -- the outbox ------------------------------------------------------------------------------

    async def enqueue(self, chat_id: int, payload: str, now: float) -> int:
        async with self._conn.execute(
            "INSERT INTO notify_outbox (chat_id, payload, created_at) VALUES (?, ?, ?)"
            " RETURNING id",
            (chat_id, payload, now),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def outbox(self) -> list[tuple[int, int, str]]:
        """Queued messages, oldest first: (id, chat, payload)."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT id, chat_id, payload FROM notify_outbox ORDER BY id"
            )
        )
        return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    async def delivered(self, message_id: int) -> None:
        await self._conn.execute("DELETE FROM notify_outbox WHERE id = ?", (message_id,))


def _sub(row: Sequence[Any]) -> Sub:
    chat_id, account, kind, enabled, param, at_minute, since = tuple(row)
    return Sub(
        chat_id=int(chat_id),
        account=str(account),
        kind=str(kind),
        enabled=bool(enabled),
        param=None if param is None else str(param),
        at_minute=None if at_minute is None else int(at_minute),
        since=float(since),
    )
