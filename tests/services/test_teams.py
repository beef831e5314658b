"""bot.services.teams on a real database file: roles in chats, invitations used once by any
number of people at once, expiry by an injected clock, revocation, leaving and removal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.crypto import SecretBox
from bot.services.teams import INVITATION_TTL, Joined, Role, Teams, role_in_chat
from bot.storage.accounts import Account, AccountRepo
from bot.storage.db import open_database
from bot.storage.teams import ChatLink, Member, TeamRepo

OWNER, GROUP = 501, -100501


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[AccountRepo, Teams, Clock, int]]:
    conn: aiosqlite.Connection = await open_database(tmp_path / "bot.db")
    repo = AccountRepo(conn, SecretBox([SecretBox.generate_key()]))
    account = await repo.save(
        Account(OWNER, "smsc.ru", "alice", "password", "pw-123456", datetime.now(UTC))
    )
    clock = Clock()
    try:
        yield repo, Teams(TeamRepo(conn), clock), clock, account.id
    finally:
        await conn.close()


def test_a_person_acts_with_the_higher_of_their_role_and_the_groups() -> None:
    group = ChatLink(GROUP, 1, "operator", OWNER)
    private = ChatLink(OWNER, 1, None, None)
    admin = Member(1, 7, "admin", "", None)
    viewer = Member(1, 8, "viewer", "", None)
    assert role_in_chat(group, admin) == Role.ADMIN
    assert role_in_chat(group, viewer) == Role.OPERATOR
    assert role_in_chat(group, None) == Role.OPERATOR
    assert role_in_chat(private, None) is None
    assert role_in_chat(private, viewer) == Role.VIEWER
    assert role_in_chat(None, admin) is None


async def test_the_log_in_makes_a_team_of_one(
    setup: tuple[AccountRepo, Teams, Clock, int],
) -> None:
    _repo, teams, _clock, _account = setup
    link, role = await teams.role(OWNER, OWNER)
    assert link is not None and role == Role.OWNER
    assert await teams.role(OWNER, OWNER + 1) == (link, None)


async def test_ten_people_opening_one_invitation_at_once_let_one_in(
    setup: tuple[AccountRepo, Teams, Clock, int],
) -> None:
    _repo, teams, _clock, account = setup
    payload, _invitation = await teams.invite(account, Role.OPERATOR, OWNER)
    results = await asyncio.gather(*(teams.accept(payload, 600 + n, f"P{n}") for n in range(10)))
    joined = [r for r in results if isinstance(r, Joined)]
    assert len(joined) == 1 and joined[0].role == Role.OPERATOR
    assert sorted(r for r in results if not isinstance(r, Joined)) == ["used"] * 9
    members = await teams.repo.members(account)
    assert [m.role for m in members] == ["owner", "operator"]


async def test_an_invitation_expires_after_a_day_and_a_revoked_one_lets_nobody_in(
    setup: tuple[AccountRepo, Teams, Clock, int],
) -> None:
    repo, teams, clock, account = setup
    payload, _ = await teams.invite(account, Role.VIEWER, OWNER)
    clock.now += INVITATION_TTL
    assert await teams.accept(payload, 700, "Late") == "expired"
    payload, invitation = await teams.invite(account, Role.VIEWER, OWNER)
    assert await teams.repo.revoke(invitation.id, account, clock())
    assert await teams.accept(payload, 700, "Late") == "revoked"
    assert await teams.accept("jnot-a-token", 700, "Late") == "unknown"
    # Only the hash is kept.
    rows = await repo.conn.execute_fetchall("SELECT * FROM invitations")
    assert rows and payload[1:] not in repr(rows)


async def test_owner_is_never_removed_and_a_removed_member_loses_the_private_chat(
    setup: tuple[AccountRepo, Teams, Clock, int],
) -> None:
    repo, teams, _clock, account = setup
    payload, _ = await teams.invite(account, Role.ADMIN, OWNER)
    assert isinstance(await teams.accept(payload, 800, "Ann"), Joined)
    assert (await repo.get(800)) is not None
    assert not await teams.repo.remove_member(account, OWNER)
    assert not await teams.repo.set_role(account, OWNER, "viewer")
    assert await teams.repo.remove_member(account, 800)
    assert await repo.get(800) is None
    assert await teams.role(800, 800) == (None, None)
