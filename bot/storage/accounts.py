"""Saved SMSC accounts (secrets encrypted per row), chat settings, subclients made via the bot."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import aiosqlite

from bot.crypto import SecretBox, SecretError
from bot.storage.db import BUSY_TIMEOUT_MS, checkpoint
from bot.storage.engine import PgConnection
from bot.storage.teams import ChatLink, Member

log = logging.getLogger(__name__)

AuthKind = Literal["password", "apikey"]
AUTH_KINDS: tuple[str, ...] = get_args(AuthKind)


@dataclass(frozen=True, slots=True)
class Account:
    """An SMSC account as a chat sees it; `secret` (password or API key) is plaintext in memory.

    `chat_id` is the chat it was read for (or is saved from); `id`, `owner_id` and `seal` are the
    row's (0 and None before it is saved). When the stored secret cannot be decrypted (lost or
    changed key), `get()` returns the account with `secret == ""` and `needs_relogin` set.
    """

    chat_id: int
    site: str
    login: str | None  # None for an API-key log-in
    auth_kind: AuthKind
    secret: str = field(repr=False)  # kept out of repr() and so out of logs and tracebacks
    verified_at: datetime | None = None
    needs_relogin: bool = False
    id: int = field(default=0, compare=False)
    owner_id: int | None = field(default=None, compare=False)
    seal: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.auth_kind not in AUTH_KINDS:
            raise ValueError(f"auth_kind must be one of {AUTH_KINDS}, not {self.auth_kind!r}")
        if self.auth_kind == "password" and not self.login:
            raise ValueError("a password log-in needs a login")


_SELECT = (
    "SELECT a.id, a.owner_id, a.seal, a.site, a.login, a.auth_kind, a.secret, a.verified_at,"
    " a.needs_relogin FROM accounts a WHERE a.id = "
)
_ACCESS = (
    "SELECT c.chat_id, c.account_id, c.role, c.linked_by,"
    " m.account_id, m.user_id, m.role, m.name, m.added_at,"
    " a.id, a.owner_id, a.seal, a.site, a.login, a.auth_kind, a.secret, a.verified_at,"
    " a.needs_relogin FROM chats c"
    " LEFT JOIN members m ON m.account_id = c.account_id AND m.user_id = ?"
    " LEFT JOIN accounts a ON a.id = c.account_id WHERE c.chat_id = ?"
)
# The account a chat acts on (bot.storage.teams: `chats`).
_OF_CHAT = "(SELECT c.account_id FROM chats c WHERE c.chat_id = ?)"


class AccountRepo:
    """Accounts, chat languages and subclients in the bot's database (`open_database`)."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection, box: SecretBox) -> None:
        """Store through `conn`; encrypt and decrypt secrets with `box`."""
        self._conn = conn
        self._box = box

    @property
    def conn(self) -> aiosqlite.Connection | PgConnection:
        return self._conn

    @property
    def box(self) -> SecretBox:
        """What encrypts the secrets, for anything else that must not be kept in clear."""
        return self._box

    def _credentials(self, account: Account, seal: int) -> tuple[object, ...]:
        """The credential columns in table order, the secret encrypted under ``seal``."""
        return (
            account.site,
            account.login,
            account.auth_kind,
            self._box.encrypt(account.secret, chat_id=seal),
            _to_text(account.verified_at),
            int(account.needs_relogin),
        )

    async def save(
        self, account: Account, *, owner_id: int | None = None, new: bool = False
    ) -> Account:
        """Save the credentials: over the row ``account.id`` names (without one: the account the
        chat acts on), or, with ``new`` or no such account, as a new account owned by
        ``owner_id`` (the private chat's user by default) that ``account.chat_id`` acts on."""
        if not account.id and not new:
            current = await self.get(account.chat_id)
            if current is not None:
                account = replace(
                    account, id=current.id, owner_id=current.owner_id, seal=current.seal
                )
        if account.id:
            await self._conn.execute(
                "UPDATE accounts SET site = ?, login = ?, auth_kind = ?, secret = ?,"
                " verified_at = ?, needs_relogin = ? WHERE id = ?",
                (*self._credentials(account, account.seal), account.id),
            )
            return account
        if owner_id is None and account.chat_id > 0:
            owner_id = account.chat_id
        # Random rather than the row id, which is known only after the insert.
        seal = secrets.randbelow(2**62) + 1
        async with self._conn.execute(
            "INSERT INTO accounts (owner_id, seal, site, login, auth_kind, secret, verified_at,"
            " needs_relogin) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (owner_id, seal, *self._credentials(account, seal)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        account_id = int(row[0])
        if owner_id is not None:
            await self._conn.execute(
                "INSERT INTO members (account_id, user_id, role, added_at)"
                " VALUES (?, ?, 'owner', ?)"
                " ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
                (account_id, owner_id, time.time()),
            )
        role = None if account.chat_id > 0 else "viewer"
        await self._conn.execute(
            "INSERT INTO chats (chat_id, account_id, role, linked_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET account_id = excluded.account_id,"
            " role = excluded.role, linked_by = excluded.linked_by",
            (account.chat_id, account_id, role, owner_id),
        )
        return replace(account, id=account_id, owner_id=owner_id, seal=seal)

    async def get(self, chat_id: int) -> Account | None:
        """Return the account the chat acts on, its secret decrypted, or None."""
        async with self._conn.execute(_SELECT + _OF_CHAT, (chat_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else self._account(chat_id, row)

    async def get_by_id(self, account_id: int, chat_id: int = 0) -> Account | None:
        """Return the account ``account_id`` (as seen from ``chat_id``), or None."""
        async with self._conn.execute(_SELECT + "?", (account_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else self._account(chat_id, row)

    async def access(
        self, chat_id: int, user_id: int
    ) -> tuple[ChatLink, Member | None, Account | None] | None:
        """The chat's link, the person's membership and the account, in one statement (every
        update of a logged-in chat asks); None when the chat acts on no account."""
        # execute_fetchall: one trip to aiosqlite's thread, not three (execute, fetchone, close).
        rows = await self._conn.execute_fetchall(_ACCESS, (user_id, chat_id))
        if not rows:
            return None
        row = tuple(next(iter(rows)))
        link, member, account = row[:4], row[4:9], row[9:]
        return (
            ChatLink(*link),
            None if member[0] is None else Member(*member),
            None if account[0] is None else self._account(chat_id, account),
        )

    def _account(self, chat_id: int, row: Any) -> Account:
        account_id, owner_id, seal, site, login, auth_kind, token, verified_at, needs_relogin = row
        try:
            secret = self._box.decrypt(bytes(token), chat_id=seal)
        except SecretError as exc:
            # Not marked in the database: once the operator restores the right key, the saved
            # account works again without anyone logging in.
            log.warning("cannot decrypt the saved secret of account %s: %s", account_id, exc)
            secret, needs_relogin = "", True
        return Account(
            chat_id=chat_id,
            site=site,
            login=login,
            auth_kind=auth_kind,
            secret=secret,
            verified_at=_from_text(verified_at),
            needs_relogin=bool(needs_relogin),
            id=account_id,
            owner_id=owner_id,
            seal=seal,
        )

    async def delete(self, chat_id: int) -> bool:
        """Wipe the account the chat acts on, for every member and chat; False if it had none."""
        account = await self.get(chat_id)
        return account is not None and await self.delete_account(account.id)

    async def delete_account(self, account_id: int) -> bool:
        """Wipe the account, its members, chats, invitations and subclients (not languages)."""
        # secure_delete (set by open_database) overwrites the row's bytes in the file.
        async with self._conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)) as c:
            return c.rowcount > 0

    async def purge_wal(self) -> bool:
        """Copy the WAL into the database file and empty it; False if readers kept it from that.

        After `delete`, the -wal file still holds the pages written before, encrypted secret
        included; secure_delete zeroes the row in the new pages only.
        """
        if isinstance(self._conn, PgConnection):
            # PostgreSQL has no WAL file of ours to clean; VACUUM reclaims dead rows in time.
            return True
        rows = await self._conn.execute_fetchall("PRAGMA database_list")
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
        await self._conn.execute(
            "UPDATE accounts SET needs_relogin = 1 WHERE id ="
            " (SELECT c.account_id FROM chats c WHERE c.chat_id = ?)",
            (chat_id,),
        )

    async def count(self) -> int:
        """Return how many accounts are saved."""
        async with self._conn.execute("SELECT count(*) FROM accounts") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0

    async def get_language(self, chat_id: int) -> str | None:
        """Return the language the chat chose, or None."""
        async with self._conn.execute(
            "SELECT language FROM chat_settings WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def set_language(self, chat_id: int, lang: str) -> None:
        """Remember the chat's language; it outlives log-outs."""
        await self._conn.execute(
            "INSERT INTO chat_settings (chat_id, language) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language",
            (chat_id, lang),
        )

    async def add_subclient(self, chat_id: int, login: str) -> None:
        """Remember a subclient created through the bot (the chat must have an account)."""
        await self._conn.execute(
            "INSERT INTO subclients (account_id, login)"
            " SELECT c.account_id, ? FROM chats c WHERE c.chat_id = ? ON CONFLICT DO NOTHING",
            (login, chat_id),
        )

    async def rename_subclient(self, chat_id: int, login: str, new_login: str) -> None:
        """Follow a subclient's change of login (no-op if it was not created through the bot)."""
        # The new login may be on record already: that row gives way (UPDATE OR REPLACE is
        # SQLite's own).
        await self._conn.execute(
            "DELETE FROM subclients WHERE account_id ="
            " (SELECT c.account_id FROM chats c WHERE c.chat_id = ?) AND login = ? AND login <> ?"
            " AND EXISTS (SELECT 1 FROM subclients s"
            " WHERE s.account_id = subclients.account_id AND s.login = ?)",
            (chat_id, new_login, login, login),
        )
        await self._conn.execute(
            "UPDATE subclients SET login = ? WHERE account_id ="
            " (SELECT c.account_id FROM chats c WHERE c.chat_id = ?) AND login = ?",
            (new_login, chat_id, login),
        )

    async def list_subclients(self, chat_id: int) -> list[str]:
        """Return the logins of the subclients created through the bot, in alphabetical order."""
        rows = await self._conn.execute_fetchall(
            "SELECT login FROM subclients WHERE account_id ="
            " (SELECT c.account_id FROM chats c WHERE c.chat_id = ?) ORDER BY login",
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
