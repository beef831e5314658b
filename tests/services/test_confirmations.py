"""ConfirmationService on a real database file: one claim per record, expiry, No, release."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.services.confirmations import MONEY_TTL, ConfirmationService, Refusal
from bot.storage.confirmations import Confirmation, ConfirmationRepo
from bot.storage.db import open_database
from bot.ui import Cf
from tests.conftest import ManualClock

CHAT, OTHER_CHAT, ACCOUNT = 42, 43, "smsc.ru|alice|2026-01-01T00:00:00+00:00"


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await open_database(tmp_path / "bot.db")
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def service(conn: aiosqlite.Connection, clock: ManualClock) -> ConfirmationService:
    return ConfirmationService(ConfirmationRepo(conn), clock=clock)


async def ask(service: ConfirmationService, ttl: float = MONEY_TTL) -> str:
    return await service.ask(
        chat_id=CHAT,
        account=ACCOUNT,
        action="scpay",
        payload={"login": "shop", "amount": "100.00"},
        asked_by=7,
        ttl=ttl,
    )


async def claim(service: ConfirmationService, record_id: str, user: int = 7) -> object:
    return await service.claim(record_id, chat_id=CHAT, account=ACCOUNT, user_id=user)


def reason(result: object) -> str:
    assert isinstance(result, Refusal), result
    return result.reason


async def test_concurrent_taps_claim_once(service: ConfirmationService) -> None:
    record_id = await ask(service)
    results = await asyncio.gather(*(claim(service, record_id, user) for user in range(20)))
    won = [r for r in results if isinstance(r, Confirmation)]
    assert len(won) == 1 and won[0].state == "claimed" and won[0].used_by is not None
    assert {reason(r) for r in results if r not in won} == {"unknown"}


async def test_two_connections_to_one_file_claim_once(
    tmp_path: Path, service: ConfirmationService, clock: ManualClock
) -> None:
    """As two bot processes sharing the database would."""
    record_id = await ask(service)
    second = await open_database(tmp_path / "bot.db")
    try:
        other = ConfirmationService(ConfirmationRepo(second), clock=clock)
        results = await asyncio.gather(
            *(claim(s, record_id, n) for n, s in enumerate([service, other] * 5))
        )
    finally:
        await second.close()
    assert len([r for r in results if isinstance(r, Confirmation)]) == 1


async def test_expiry(service: ConfirmationService, clock: ManualClock) -> None:
    record_id = await ask(service)
    clock.advance(MONEY_TTL)
    assert reason(await claim(service, record_id)) == "expired"
    # A No on an expired question just ends it.
    ended = await service.cancel(record_id, chat_id=CHAT, user_id=7)
    assert isinstance(ended, Confirmation) and ended.state == "cancelled"
    assert reason(await claim(service, record_id)) == "answered"


async def test_no_ends_it_and_a_no_after_a_yes_changes_nothing(
    service: ConfirmationService,
) -> None:
    cancelled = await ask(service)
    assert isinstance(await service.cancel(cancelled, chat_id=CHAT, user_id=7), Confirmation)
    refusal = await claim(service, cancelled)
    assert isinstance(refusal, Refusal) and refusal.reason == "answered"
    assert refusal.record is not None and refusal.record.state == "cancelled"

    used = await ask(service)
    assert isinstance(await claim(service, used), Confirmation)
    assert reason(await service.cancel(used, chat_id=CHAT, user_id=8)) == "unknown"
    record = await service.get(used)
    assert record is not None and record.state == "claimed" and record.used_by == 7


async def test_outcomes(service: ConfirmationService) -> None:
    for outcome, expected in (("done", "answered"), ("failed", "answered"), ("unknown", "unknown")):
        record_id = await ask(service)
        assert isinstance(await claim(service, record_id), Confirmation)
        assert await service.finish(record_id, outcome)  # type: ignore[arg-type]
        assert not await service.finish(record_id, "done")
        assert reason(await claim(service, record_id)) == expected


async def test_release_lets_the_same_button_work_again(service: ConfirmationService) -> None:
    record_id = await ask(service)
    assert isinstance(await claim(service, record_id, 7), Confirmation)
    assert await service.release(record_id)
    again = await claim(service, record_id, 8)
    assert isinstance(again, Confirmation) and again.used_by == 8
    assert await service.finish(record_id, "done")
    assert not await service.release(record_id)


async def test_wrong_chat_account_or_id(service: ConfirmationService) -> None:
    record_id = await ask(service)
    assert reason(await claim(service, "no-such-id")) == "missing"
    other_chat = await service.claim(record_id, chat_id=OTHER_CHAT, account=ACCOUNT, user_id=7)
    assert reason(other_chat) == "missing"
    relogged = await service.claim(record_id, chat_id=CHAT, account="smsc.ru|bob|x", user_id=7)
    assert reason(relogged) == "account"
    assert reason(await service.cancel(record_id, chat_id=OTHER_CHAT, user_id=7)) == "missing"
    assert isinstance(await claim(service, record_id), Confirmation)


async def test_used_records_are_kept(service: ConfirmationService) -> None:
    first = await ask(service)
    assert isinstance(await claim(service, first), Confirmation)
    assert await service.finish(first, "done")
    for _ in range(200):
        later = await ask(service)
        assert isinstance(await claim(service, later), Confirmation)
        assert await service.finish(later, "done")
    assert reason(await claim(service, first)) == "answered"


async def test_the_button_fits_telegrams_64_bytes(service: ConfirmationService) -> None:
    record_id = await ask(service)
    assert len(record_id) == 16
    assert len(Cf(id=record_id, yes=True).pack().encode()) <= 64
