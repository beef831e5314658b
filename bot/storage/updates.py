"""The journal of Telegram updates the bot has taken on, so none is handled twice.

Telegram delivers an update again when the bot dies before confirming it (the next getUpdates
offset, or the webhook's HTTP answer). Handling it twice would repeat what it did: a second
black-list entry, a second top-up, or a login name read as the password one step later. An update
is claimed, durably, before it is handled: after a crash it is skipped rather than repeated, and
the user, who saw no answer, sends it again.
"""

from __future__ import annotations

import aiosqlite

from bot.storage.engine import Database, PgConnection, as_database

# How many claims to keep: far more than Telegram keeps undelivered (24 hours' worth).
KEEP = 50_000
PRUNE_EVERY = 5_000


class UpdateJournal:
    """Claims update ids per bot; ``claim`` is true only the first time."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection | Database) -> None:
        self._db = as_database(conn)
        self._since_prune = 0

    async def claim(self, bot_id: int, update_id: int) -> bool:
        # One conditional INSERT on either engine: two replicas given the same update (a retried
        # webhook call landing elsewhere) cannot both claim it.
        claimed = (
            await self._db.execute(
                "INSERT INTO handled_updates (bot_id, update_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (bot_id, update_id),
            )
            == 1
        )
        await self._prune(bot_id, update_id)
        return claimed

    async def claim_reading_language(
        self, bot_id: int, update_id: int, chat_id: int
    ) -> tuple[bool, str | None]:
        """``claim``, and the language the chat chose (``chat_settings``) in the same statement:
        on PostgreSQL every update reads it, and one round trip costs less than two. The same
        conditional INSERT decides the claim. PostgreSQL only (SQLite has no INSERT in WITH)."""
        row = await self._db.fetchone(
            "WITH claim AS (INSERT INTO handled_updates (bot_id, update_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING RETURNING 1)"
            " SELECT EXISTS (SELECT 1 FROM claim),"
            " (SELECT language FROM chat_settings WHERE chat_id = ?)",
            (bot_id, update_id, chat_id),
        )
        assert row is not None
        await self._prune(bot_id, update_id)
        return bool(row[0]), row[1]

    async def _prune(self, bot_id: int, update_id: int) -> None:
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            await self._db.execute(
                "DELETE FROM handled_updates WHERE bot_id = ? AND update_id < ?",
                (bot_id, update_id - KEEP),
            )
