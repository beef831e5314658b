"""Teams: the members of each SMSC account with their roles, which account each chat acts on,
and invitations (stored by hash, used once by one conditional UPDATE)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.storage.engine import PgConnection


@dataclass(frozen=True, slots=True)
class Member:
    account_id: int
    user_id: int
    role: str
    name: str
    added_at: float | None


@dataclass(frozen=True, slots=True)
class ChatLink:
    """The account a chat acts on; ``role`` is a group's members' role (None: a private chat)."""

    chat_id: int
    account_id: int
    role: str | None
    linked_by: int | None


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    account_id: int
    role: str
    created_by: int
    created_at: float
    expires_at: float
    used_by: int | None
    used_at: float | None
    revoked_at: float | None


_MEMBER = "SELECT account_id, user_id, role, name, added_at FROM members"
_INVITATION = (
    "SELECT id, account_id, role, created_by, created_at, expires_at, used_by, used_at, revoked_at"
    " FROM invitations"
)


class TeamRepo:
    """Members, chat links and invitations in the bot's database (`open_database`)."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection) -> None:
        self._conn = conn

    # -- members

    async def member(self, account_id: int, user_id: int) -> Member | None:
        found = await self._members("account_id = ? AND user_id = ?", (account_id, user_id))
        return next(iter(found), None)

    async def members(self, account_id: int) -> list[Member]:
        """The account's members, owner first, then by when they joined."""
        # No time (made by migration 7): there before teams, so first; PostgreSQL would sort
        # NULL last, SQLite first.
        return await self._members(
            "account_id = ?"
            " ORDER BY CASE role WHEN 'owner' THEN 0 ELSE 1 END, coalesce(added_at, 0), user_id",
            (account_id,),
        )

    async def memberships(self, user_id: int) -> list[Member]:
        return await self._members("user_id = ? ORDER BY account_id", (user_id,))

    async def _members(self, where: str, params: tuple[int, ...]) -> list[Member]:
        # ``where`` is always one of the literals above; the values go as parameters.
        rows = await self._conn.execute_fetchall(f"{_MEMBER} WHERE {where}", params)
        return [Member(*row) for row in rows]

    async def add_member(
        self, account_id: int, user_id: int, role: str, name: str, at: float
    ) -> None:
        """Add the member; one already there keeps the role they have."""
        await self._conn.execute(
            "INSERT INTO members (account_id, user_id, role, name, added_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (account_id, user_id) DO UPDATE SET name = excluded.name",
            (account_id, user_id, role, name, at),
        )

    async def set_role(self, account_id: int, user_id: int, role: str) -> bool:
        """Change a member's role (never the owner's); False when there is no such member."""
        async with self._conn.execute(
            "UPDATE members SET role = ? WHERE account_id = ? AND user_id = ? AND role <> 'owner'",
            (role, account_id, user_id),
        ) as cursor:
            return cursor.rowcount > 0

    async def set_name(self, account_id: int, user_id: int, name: str) -> None:
        await self._conn.execute(
            "UPDATE members SET name = ? WHERE account_id = ? AND user_id = ?",
            (name, account_id, user_id),
        )

    async def remove_member(self, account_id: int, user_id: int) -> bool:
        """Remove a member (never the owner) and their private chat's pointer to the account."""
        async with self._conn.execute(
            "DELETE FROM members WHERE account_id = ? AND user_id = ? AND role <> 'owner'",
            (account_id, user_id),
        ) as cursor:
            removed = cursor.rowcount > 0
        await self._conn.execute(
            "DELETE FROM chats WHERE chat_id = ? AND account_id = ? AND role IS NULL",
            (user_id, account_id),
        )
        return removed

    async def set_owner(self, account_id: int, user_id: int) -> None:
        """Make ``user_id`` the owner (the previous owner becomes an admin)."""
        await self._conn.execute(
            "UPDATE members SET role = 'admin' WHERE account_id = ? AND role = 'owner'",
            (account_id,),
        )
        await self._conn.execute(
            "UPDATE members SET role = 'owner' WHERE account_id = ? AND user_id = ?",
            (account_id, user_id),
        )
        await self._conn.execute(
            "UPDATE accounts SET owner_id = ? WHERE id = ?", (user_id, account_id)
        )

    # -- chats

    async def link_of(self, chat_id: int) -> ChatLink | None:
        rows = await self._conn.execute_fetchall(
            "SELECT chat_id, account_id, role, linked_by FROM chats WHERE chat_id = ?", (chat_id,)
        )
        return next((ChatLink(*row) for row in rows), None)

    async def link(self, chat_id: int, account_id: int, role: str | None, by: int | None) -> None:
        """Point the chat at the account (a group with its members' role)."""
        await self._conn.execute(
            "INSERT INTO chats (chat_id, account_id, role, linked_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET account_id = excluded.account_id,"
            " role = excluded.role, linked_by = excluded.linked_by",
            (chat_id, account_id, role, by),
        )

    async def unlink(self, chat_id: int) -> bool:
        async with self._conn.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,)) as c:
            return c.rowcount > 0

    async def groups(self, account_id: int) -> list[ChatLink]:
        rows = await self._conn.execute_fetchall(
            "SELECT chat_id, account_id, role, linked_by FROM chats"
            " WHERE account_id = ? AND role IS NOT NULL ORDER BY chat_id",
            (account_id,),
        )
        return [ChatLink(*row) for row in rows]

    # -- invitations

    async def add_invitation(
        self,
        token_hash: str,
        account_id: int,
        role: str,
        created_by: int,
        created_at: float,
        expires_at: float,
    ) -> int:
        async with self._conn.execute(
            "INSERT INTO invitations (token_hash, account_id, role, created_by, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (token_hash, account_id, role, created_by, created_at, expires_at),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def invitation(self, token_hash: str) -> Invitation | None:
        rows = await self._conn.execute_fetchall(
            f"{_INVITATION} WHERE token_hash = ?", (token_hash,)
        )
        return next((Invitation(*row) for row in rows), None)

    async def use_invitation(self, token_hash: str, user_id: int, now: float) -> bool:
        """Use the invitation for ``user_id``: True for exactly one caller, while it is open."""
        async with self._conn.execute(
            "UPDATE invitations SET used_by = ?, used_at = ? WHERE token_hash = ?"
            " AND used_by IS NULL AND revoked_at IS NULL AND expires_at > ?",
            (user_id, now, token_hash, now),
        ) as cursor:
            return cursor.rowcount == 1

    async def open_invitations(self, account_id: int, now: float) -> list[Invitation]:
        rows = await self._conn.execute_fetchall(
            f"{_INVITATION} WHERE account_id = ? AND used_by IS NULL AND revoked_at IS NULL"
            " AND expires_at > ? ORDER BY id",
            (account_id, now),
        )
        return [Invitation(*row) for row in rows]

    async def revoke(self, invitation_id: int, account_id: int, now: float) -> bool:
        async with self._conn.execute(
            "UPDATE invitations SET revoked_at = ? WHERE id = ? AND account_id = ?"
            " AND used_by IS NULL AND revoked_at IS NULL",
            (now, invitation_id, account_id),
        ) as cursor:
            return cursor.rowcount > 0
