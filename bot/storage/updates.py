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
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            await self._db.execute(
                "DELETE FROM handled_updates WHERE bot_id = ? AND update_id < ?",
                (bot_id, update_id - KEEP),
            )
        return claimed
