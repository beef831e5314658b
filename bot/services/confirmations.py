"""Confirmations of irreversible actions (top-ups, deletes, log-out): asked, used once, answered.

A question is a server-side record made when it is shown; its Yes button carries only the id.
``claim`` turns an open record into a claimed one in one conditional UPDATE, so of any number of
taps (several people, a double tap, two processes) exactly one proceeds. After the SMSC call the
record is finished as done, failed or unknown; it is released back to open only when the request
certainly never reached SMSC. Records are kept, so an old button is always recognised as old.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from bot.storage.accounts import Account
from bot.storage.confirmations import Confirmation, ConfirmationRepo, Outcome

# Money: long enough to read the question and tap, short enough that the balance, the amount
# and the user's intent shown in it are still current.
MONEY_TTL: Final = 15 * 60.0
# Deletes and log-out: they may wait for an evening, but a button found days later in a scrolled
# chat belongs to a decision made in another context; a fresh question costs one tap.
CHANGE_TTL: Final = 24 * 3600.0

Reason = Literal["missing", "expired", "account", "answered", "unknown"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a tap does nothing. ``record`` is None for ``missing`` (no such id in this chat).

    missing: unknown id, or another chat's; expired: open but too old; account: asked while the
    chat was on another SMSC account; answered: done, failed or cancelled; unknown: claimed and
    never finished (in progress, or the bot stopped) or SMSC's answer was lost.
    """

    reason: Reason
    record: Confirmation | None = None


def account_key(account: Account | None) -> str:
    """Which log-in a question belongs to: a new log-in (to any account) makes it out of date."""
    if account is None:
        return ""
    verified = account.verified_at.isoformat() if account.verified_at is not None else ""
    return f"{account.site}|{account.login or ''}|{verified}"


class ConfirmationService:
    """Asks, claims, finishes, cancels and releases confirmation records."""

    def __init__(self, repo: ConfirmationRepo, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.clock = clock

    async def ask(
        self,
        *,
        chat_id: int,
        account: str,
        action: str,
        payload: dict[str, str],
        asked_by: int | None,
        ttl: float,
    ) -> str:
        """Record a question being shown; returns the id its buttons carry."""
        now = self.clock()
        # 12 random bytes, 16 characters: unguessable, and "cf:<id>:1" stays far under 64 bytes.
        record_id = secrets.token_urlsafe(12)
        await self.repo.add(
            Confirmation(
                id=record_id,
                chat_id=chat_id,
                account=account,
                action=action,
                payload=payload,
                asked_by=asked_by,
                created_at=now,
                expires_at=now + ttl,
                state="open",
            )
        )
        return record_id

    async def get(self, record_id: str) -> Confirmation | None:
        return await self.repo.get(record_id)

    async def claim(
        self, record_id: str, *, chat_id: int, account: str, user_id: int | None
    ) -> Confirmation | Refusal:
        """Use the record for a Yes: the claimed record for exactly one tap, else why not."""
        while True:
            now = self.clock()
            if await self.repo.claim(record_id, chat_id, account, user_id, now):
                record = await self.repo.get(record_id)
                assert record is not None
                return record
            refusal = self._refusal(await self.repo.get(record_id), chat_id, account, now)
            if refusal is not None:
                return refusal
            # Claimed and released (never sent) between the UPDATE and the read: try again.

    async def cancel(
        self, record_id: str, *, chat_id: int, user_id: int | None
    ) -> Confirmation | Refusal:
        """End the record with a No; a record already claimed or answered is left as it is."""
        now = self.clock()
        if await self.repo.cancel(record_id, chat_id, user_id, now):
            record = await self.repo.get(record_id)
            assert record is not None
            return record
        record = await self.repo.get(record_id)
        if record is not None and record.state == "open" and record.chat_id == chat_id:
            # Released between the UPDATE and the read: try once more.
            return await self.cancel(record_id, chat_id=chat_id, user_id=user_id)
        refusal = self._refusal(record, chat_id, record.account if record else "", now)
        assert refusal is not None
        return refusal

    async def finish(self, record_id: str, outcome: Outcome) -> bool:
        return await self.repo.finish(record_id, outcome)

    async def release(self, record_id: str) -> bool:
        """Reopen a claimed record: only when its request certainly never reached SMSC."""
        return await self.repo.release(record_id)

    @staticmethod
    def _refusal(
        record: Confirmation | None, chat_id: int, account: str, now: float
    ) -> Refusal | None:
        if record is None or record.chat_id != chat_id:
            return Refusal("missing")
        if record.state in ("claimed", "unknown"):
            return Refusal("unknown", record)
        if record.state != "open":
            return Refusal("answered", record)
        if record.account != account:
            return Refusal("account", record)
        if record.expires_at <= now:
            return Refusal("expired", record)
        return None
