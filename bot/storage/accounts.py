"""Saved SMSC accounts (secrets encrypted per chat), chat settings, subclients made via the bot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

import aiosqlite

from bot.crypto import SecretBox, SecretError
from bot.storage.db import BUSY_TIMEOUT_MS, checkpoint
from bot.storage.engine import Database, PgConnection, SqliteDatabase, as_database

log = logging.getLogger(__name__)

AuthKind = Literal["password", "apikey"]
AUTH_KINDS: tuple[str, ...] = get_args(AuthKind)


@dataclass(frozen=True, slots=True)
class Account:
    """A chat's SMSC account. `secret` (password or API key) is plaintext in memory only.

    When the stored secret cannot be decrypted (lost or changed key), `get()` returns the account
    with `secret == ""` and `needs_relogin` set, so the user is asked to log in again.
    """

    chat_id: int
    site: str
    login: str | None  # None for an API-key log-in
    auth_kind: AuthKind
    secret: str = field(repr=False)  # kept out of repr() and so out of logs and tracebacks
    verified_at: datetime | None = None
    needs_relogin: bool = False

    def __post_init__(self) -> None:
        if self.auth_kind not in AUTH_KINDS:
            raise ValueError(f"auth_kind must be one of {AUTH_KINDS}, not {self.auth_kind!r}")
        if self.auth_kind == "password" and not self.login:
            raise ValueError("a password log-in needs a login")


class AccountRepo:
    """Accounts, chat languages and subclients in the bot's database (`open_database`)."""

    def __init__(
        self, conn: aiosqlite.Connection | PgConnection | Database, box: SecretBox
    ) -> None:
        """Store through `conn` (either engine); encrypt and decrypt secrets with `box`."""
        self._db = as_database(conn)
        self._box = box

    @property
    def box(self) -> SecretBox:
        """What encrypts the secrets, for anything else that must not be kept in clear."""
        return self._box

    async def save(self, account: Account) -> None:
        """Insert or replace the chat's account; the secret is written encrypted only."""
        secret = self._box.encrypt(account.secret, chat_id=account.chat_id)
        # An upsert rather than INSERT OR REPLACE: REPLACE deletes the old row first, and the
        # cascade would take the chat's subclients with it.
        await self._db.execute(
            """
            INSERT INTO accounts
                (chat_id, site, login, auth_kind, secret, verified_at, needs_relogin)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chat_id) DO UPDATE SET
                site = excluded.site, login = excluded.login, auth_kind = excluded.auth_kind,
                secret = excluded.secret, verified_at = excluded.verified_at,
                needs_relogin = excluded.needs_relogin
            """,
            (
                account.chat_id,
                account.site,
                account.login,
                account.auth_kind,
                secret,
                _to_text(account.verified_at),
                int(account.needs_relogin),
            ),
        )

    async def get(self, chat_id: int) -> Account | None:
        """Return the chat's account with its secret decrypted, or None."""
        row = await self._db.fetchone(
            "SELECT site, login, auth_kind, secret, verified_at, needs_relogin"
            " FROM accounts WHERE chat_id = ?",
            (chat_id,),
        )
        if row is None:
            return None
        site, login, auth_kind, token, verified_at, needs_relogin = row
        try:
            secret = self._box.decrypt(bytes(token), chat_id=chat_id)
        except SecretError as exc:
            # Not marked in the database: once the operator restores the right key, the saved
            # account works again without anyone logging in.
            log.warning("cannot decrypt the saved secret of chat %s: %s", chat_id, exc)
            secret, needs_relogin = "", True
        return Account(
            chat_id=chat_id,
            site=site,
            login=login,
            auth_kind=auth_kind,
            secret=secret,
            verified_at=_from_text(verified_at),
            needs_relogin=bool(needs_relogin),
        )

    async def delete(self, chat_id: int) -> bool:
        """Wipe the chat's account and its subclients (not its language); False if it had none."""
        # secure_delete (set by open_database) overwrites the row's bytes in the file.
        return await self._db.execute("DELETE FROM accounts WHERE chat_id = ?", (chat_id,)) > 0

    async def purge_wal(self) -> bool:
        """Copy the WAL into the database file and empty it; False if readers kept it from that.

        After `delete`, the -wal file still holds the pages written before, encrypted secret
        included; secure_delete zeroes the row in the new pages only.
        """
        if not isinstance(self._db, SqliteDatabase):
            # PostgreSQL has no WAL file of ours to clean; VACUUM reclaims dead rows in time.
            return True
        rows = await self._db.conn.execute_fetchall("PRAGMA database_list")
        path = next((str(row[2]) for row in rows if row[1] == "main"), "")
        if not path:
            return True  # an in-memory database has no file to clean
        done = await asyncio.to_thread(checkpoint, path, "TRUNCATE", timeout=BUSY_TIMEOUT_MS / 1000)
        if not done:
            log.warning(
                "WAL checkpoint (TRUNCATE) was blocked by readers: deleted credentials stay in "
                "the -wal file until it is next reset"
            )
        return done

    async def mark_needs_relogin(self, chat_id: int) -> None:
        """Stop using the saved credentials until the next successful log-in (`save`)."""
        await self._db.execute(
            "UPDATE accounts SET needs_relogin = 1 WHERE chat_id = ?", (chat_id,)
        )

    async def count(self) -> int:
        """Return how many chats have a saved account."""
        row = await self._db.fetchone("SELECT count(*) FROM accounts")
        return int(row[0]) if row is not None else 0

    async def get_language(self, chat_id: int) -> str | None:
        """Return the language the chat chose, or None."""
        row = await self._db.fetchone(
            "SELECT language FROM chat_settings WHERE chat_id = ?", (chat_id,)
        )
        return None if row is None else row[0]

    async def set_language(self, chat_id: int, lang: str) -> None:
        """Remember the chat's language; it outlives log-outs."""
        await self._db.execute(
            "INSERT INTO chat_settings (chat_id, language) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language",
            (chat_id, lang),
        )

    async def add_subclient(self, chat_id: int, login: str) -> None:
        """Remember a subclient created through the bot (the chat must have an account)."""
        await self._db.execute(
            "INSERT INTO subclients (chat_id, login) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (chat_id, login),
        )

    async def rename_subclient(self, chat_id: int, login: str, new_login: str) -> None:
        """Follow a subclient's change of login (no-op if it was not created through the bot)."""
        # Portable UPDATE OR REPLACE: a row already under the new login gives way.
        await self._db.execute(
            "DELETE FROM subclients WHERE chat_id = ? AND login = ? AND login <> ?"
            " AND EXISTS (SELECT 1 FROM subclients WHERE chat_id = ? AND login = ?)",
            (chat_id, new_login, login, chat_id, login),
        )
        await self._db.execute(
            "UPDATE subclients SET login = ? WHERE chat_id = ? AND login = ?",
            (new_login, chat_id, login),
        )

    async def list_subclients(self, chat_id: int) -> list[str]:
        """Return the logins of the subclients created through the bot, in alphabetical order."""
        rows = await self._db.fetchall(
            "SELECT login FROM subclients WHERE chat_id = ? ORDER BY login",
            (chat_id,),
        )
        return [str(row[0]) for row in rows]


def _to_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("verified_at must be timezone-aware")
    # The format of the SQL defaults elsewhere in the schema, so all timestamps sort alike.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _from_text(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
