"""Audit log: what each chat did to its SMSC account through the bot, and how it went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.engine import Database, PgConnection, as_database


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


class AuditLog:
    """Append-only record of actions, in the bot's database (`open_database`).

    Never hand it a secret: no password, API key or token in `target` or `detail`. The log is
    stored in plain text and kept for good, unlike the encrypted credentials.
    """

    def __init__(self, conn: aiosqlite.Connection | PgConnection | Database) -> None:
        """Write through `conn` (either engine)."""
        self._db = as_database(conn)

    async def record(
        self,
        chat_id: int,
        user_id: int | None,
        action: str,
        target: str | None,
        result: str,
        detail: str | None = None,
    ) -> None:
        """Append an entry (committed on return); never pass a secret in any field."""
        await self._db.execute(
            "INSERT INTO audit_log (chat_id, user_id, action, target, result, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (chat_id, user_id, action, target, result, detail),
        )

    async def recent(self, chat_id: int, limit: int = 20) -> list[AuditEntry]:
        """Return the chat's latest `limit` entries, newest first."""
        rows = await self._db.fetchall(
            "SELECT id, at, chat_id, user_id, action, target, result, detail FROM audit_log"
            " WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
            (chat_id, limit),
        )
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
            )
            for row in rows
        ]
