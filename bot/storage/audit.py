"""Audit log: what each chat did to its SMSC account through the bot, and how it went."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.engine import PgConnection

# The name of the person the current update comes from, set once per update (bot.middlewares):
# every entry names who made the change, without each caller passing it.
ACTOR_NAME: ContextVar[str | None] = ContextVar("actor_name", default=None)


_COLUMNS = (
    "SELECT id, at, chat_id, user_id, action, target, result, detail, account_id, user_name"
    " FROM audit_log WHERE "
)
_RECENT = _COLUMNS + "chat_id = ? ORDER BY id DESC LIMIT ?"
_OF_ACCOUNT = _COLUMNS + "account_id = ? ORDER BY id DESC LIMIT ?"
_OF_ACCOUNT_BEFORE = _COLUMNS + "account_id = ? AND id < ? ORDER BY id DESC LIMIT ?"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action."""

    id: int
    at: datetime
    chat_id: int
    user_id: int | None
    action: str
    target: str | None
    result: str
    detail: str | None
    account_id: int | None = None
    user_name: str | None = None


class AuditLog:
    """Append-only record of actions, in the bot's database (`open_database`).

    Never hand it a secret: no password, API key or token in `target` or `detail`. The log is
    stored in plain text and kept for good, unlike the encrypted credentials.
    """

    def __init__(self, conn: aiosqlite.Connection | PgConnection) -> None:
        """Write through `conn`."""
        self._conn = conn

    async def record(
        self,
        chat_id: int,
        user_id: int | None,
        action: str,
        target: str | None,
        result: str,
        detail: str | None = None,
    ) -> None:
        """Append an entry (committed on return); never pass a secret in any field.

        It is filed under the account the chat acts on at that moment, with the actor's name.
        """
        await self._conn.execute(
            "INSERT INTO audit_log (chat_id, user_id, action, target, result, detail,"
            " account_id, user_name) VALUES (?, ?, ?, ?, ?, ?,"
            " (SELECT c.account_id FROM chats c WHERE c.chat_id = ?), ?)",
            (chat_id, user_id, action, target, result, detail, chat_id, ACTOR_NAME.get()),
        )

    async def recent(self, chat_id: int, limit: int = 20) -> list[AuditEntry]:
        """Return the chat's latest `limit` entries, newest first."""
        return await self._select(_RECENT, (chat_id, limit))

    async def of_account(
        self, account_id: int, limit: int = 20, before: int | None = None
    ) -> list[AuditEntry]:
        """The account's latest `limit` entries older than entry ``before``, newest first."""
        if before is None:
            return await self._select(_OF_ACCOUNT, (account_id, limit))
        return await self._select(_OF_ACCOUNT_BEFORE, (account_id, before, limit))

    async def _select(self, query: str, args: tuple[int, ...]) -> list[AuditEntry]:
        rows = await self._conn.execute_fetchall(query, args)
        return [
            AuditEntry(
                id=row[0],
                at=datetime.fromisoformat(row[1]),
                chat_id=row[2],
                user_id=row[3],
                action=row[4],
                target=row[5],
                result=row[6],
                detail=row[7],
                account_id=row[8],
                user_name=row[9],
            )
            for row in rows
        ]
