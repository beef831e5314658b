"""Confirmations asked in chats: what a Yes button would do, and whether it was used.

The button carries only the record's id. A record is claimed by one conditional UPDATE, so a Yes
is used at most once however many people tap it, in however many processes sharing the file.
Records are kept after use: an old button must keep finding its record to be told it is old.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, get_args

import aiosqlite

from bot.storage.engine import Database, PgConnection, as_database

State = Literal["open", "claimed", "done", "failed", "unknown", "cancelled"]
STATES: tuple[str, ...] = get_args(State)
# What a claimed record may end as; "unknown" when SMSC may or may not have applied the request.
Outcome = Literal["done", "failed", "unknown"]

_INSERT = (
    "INSERT INTO confirmations (id, chat_id, account, action, payload, asked_by, created_at,"
    " expires_at, state, used_by, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT id, chat_id, account, action, payload, asked_by, created_at, expires_at, state,"
    " used_by, used_at FROM confirmations WHERE id = ?"
)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """One question; ``payload`` says what Yes does (which item, how much), never a secret."""

    id: str
    chat_id: int
    account: str
    action: str
    payload: dict[str, str]
    asked_by: int | None
    created_at: float
    expires_at: float
    state: State
    used_by: int | None = None
    used_at: float | None = None


class ConfirmationRepo:
    """Confirmation records in the bot's database (`open_database`); times are Unix seconds."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection | Database) -> None:
        self._db = as_database(conn)

    async def add(self, record: Confirmation) -> None:
        await self._db.execute(
            _INSERT,
            (
                record.id,
                record.chat_id,
                record.account,
                record.action,
                json.dumps(record.payload, ensure_ascii=False, sort_keys=True),
                record.asked_by,
                record.created_at,
                record.expires_at,
                record.state,
                record.used_by,
                record.used_at,
            ),
        )

    async def get(self, record_id: str) -> Confirmation | None:
        row = await self._db.fetchone(_SELECT, (record_id,))
        if row is None:
            return None
        state = str(row[8])
        if state not in STATES:
            raise ValueError(f"confirmation {record_id} has an unknown state {state!r}")
        return Confirmation(
            id=row[0],
            chat_id=row[1],
            account=row[2],
            action=row[3],
            payload={str(k): str(v) for k, v in json.loads(row[4]).items()},
            asked_by=row[5],
            created_at=row[6],
            expires_at=row[7],
            state=state,  # type: ignore[arg-type]
            used_by=row[9],
            used_at=row[10],
        )

    async def claim(
        self, record_id: str, chat_id: int, account: str, user_id: int | None, now: float
    ) -> bool:
        """Open, unexpired, this chat's and this account's → claimed by ``user_id``; else False."""
        return await self._update(
            "UPDATE confirmations SET state = 'claimed', used_by = ?, used_at = ?"
            " WHERE id = ? AND state = 'open' AND expires_at > ? AND chat_id = ? AND account = ?",
            (user_id, now, record_id, now, chat_id, account),
        )

    async def cancel(self, record_id: str, chat_id: int, user_id: int | None, now: float) -> bool:
        """Open and this chat's → cancelled (expired or not: a No can do no harm); else False."""
        return await self._update(
            "UPDATE confirmations SET state = 'cancelled', used_by = ?, used_at = ?"
            " WHERE id = ? AND state = 'open' AND chat_id = ?",
            (user_id, now, record_id, chat_id),
        )

    async def finish(self, record_id: str, outcome: Outcome) -> bool:
        """Claimed → ``outcome``; False when the record was not claimed."""
        return await self._update(
            "UPDATE confirmations SET state = ? WHERE id = ? AND state = 'claimed'",
            (outcome, record_id),
        )

    async def release(self, record_id: str) -> bool:
        """Claimed → open again, as if never tapped."""
        return await self._update(
            "UPDATE confirmations SET state = 'open', used_by = NULL, used_at = NULL"
            " WHERE id = ? AND state = 'claimed'",
            (record_id,),
        )

    async def _update(self, sql: str, params: tuple[object, ...]) -> bool:
        return await self._db.execute(sql, params) == 1
