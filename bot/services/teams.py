"""Teams: who may do what on an SMSC account, invitations, and linked group chats.

Roles are ordered: viewer < operator < admin < owner. In a private chat a person acts with their
own role on the chat's account; in a linked group with the higher of the group's role and their
own. Invitations are random tokens kept only as SHA-256 hashes, used once by one conditional
UPDATE, valid 24 hours.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from bot.storage.teams import ChatLink, Invitation, Member, TeamRepo

INVITATION_TTL: Final = 24 * 3600.0
# The deep link's payload: "j" and the token, within Telegram's 64 characters of A-Za-z0-9_-.
INVITE_PREFIX: Final = "j"
_TOKEN_BYTES: Final = 18


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3
    OWNER = 4

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def of(cls, text: str | None) -> Role | None:
        if text is None:
            return None
        try:
            return cls[text.upper()]
        except KeyError:
            return None


# The SMSC scripts a role may write to: defence in depth under the per-handler role flags, so a
# handler registered without one still cannot make a viewer's client change anything.
WRITES: Final[dict[Role, frozenset[str]]] = {
    Role.VIEWER: frozenset(),
    Role.OPERATOR: frozenset({"phones", "templates"}),
    Role.ADMIN: frozenset({"phones", "templates", "senders", "users"}),
    Role.OWNER: frozenset({"phones", "templates", "senders", "users"}),
}
# Roles a team's owner or admin can give: ownership is handed over, never given.
GIVEN_ROLES: Final = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


def role_in_chat(link: ChatLink | None, member: Member | None) -> Role | None:
    """The role a person has in a chat: their own, or in a group the higher of theirs and the
    group's; None when the chat acts on no account or the person is not in its team."""
    if link is None:
        return None
    own = Role.of(member.role) if member is not None else None
    group = Role.of(link.role)
    found = [role for role in (own, group) if role is not None]
    return max(found) if found else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


Refused = Literal["unknown", "used", "revoked", "expired", "member"]


@dataclass(frozen=True, slots=True)
class Joined:
    account_id: int
    role: Role


class Teams:
    """Membership, invitations and chat links; ``clock`` (epoch seconds) times invitations."""

    def __init__(self, repo: TeamRepo, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.clock = clock

    async def role(self, chat_id: int, user_id: int) -> tuple[ChatLink | None, Role | None]:
        link = await self.repo.link_of(chat_id)
        if link is None:
            return None, None
        return link, role_in_chat(link, await self.repo.member(link.account_id, user_id))

    async def invite(self, account_id: int, role: Role, by: int) -> tuple[str, Invitation]:
        """A new invitation; the token (the deep link's payload) is shown once, never stored."""
        if role not in GIVEN_ROLES:
            raise ValueError(f"cannot invite as {role.key}")
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        now = self.clock()
        invitation_id = await self.repo.add_invitation(
            hash_token(token), account_id, role.key, by, now, now + INVITATION_TTL
        )
        invitation = Invitation(
            invitation_id, account_id, role.key, by, now, now + INVITATION_TTL, None, None, None
        )
        return INVITE_PREFIX + token, invitation

    async def accept(self, payload: str, user_id: int, name: str) -> Joined | Refused:
        """Join with an invitation's deep-link payload; the person's private chat acts on the
        account from then on."""
        token = payload.removeprefix(INVITE_PREFIX)
        token_hash = hash_token(token)
        invitation = await self.repo.invitation(token_hash)
        if invitation is None:
            return "unknown"
        if await self.repo.member(invitation.account_id, user_id) is not None:
            # Already in: the link stays unused for whoever it was meant for.
            await self.repo.link(user_id, invitation.account_id, None, user_id)
            return "member"
        now = self.clock()
        if not await self.repo.use_invitation(token_hash, user_id, now):
            if invitation.revoked_at is not None:
                return "revoked"
            if invitation.used_by is not None or invitation.expires_at > now:
                return "used"
            return "expired"
        role = Role.of(invitation.role) or Role.VIEWER
        await self.repo.add_member(invitation.account_id, user_id, role.key, name, now)
        await self.repo.link(user_id, invitation.account_id, None, user_id)
        return Joined(invitation.account_id, role)
