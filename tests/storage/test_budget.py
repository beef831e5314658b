"""AuthBudget on its SQLite store: leases, the 30-minute window, fairness, and what a restart or a
crash leaves behind."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiosqlite
import pytest

from bot.smsc.budget import LIMIT, WINDOW, AuthBudget, Lease, Outcome, Purpose
from bot.smsc.errors import AuthPaused, CredentialsRefused
from bot.storage.budget import SqliteBudgetStore
from bot.storage.db import open_database
from tests.conftest import ManualClock

HOST = "https://smsc.ru"
KEY = b"k" * 32
PASSWORD = "Budget-Test-Password-81"


class Budgets:
    """Budgets over one database file, reopened as a restarted bot would."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        self.path = path
        self.clock = clock
        self.conn: aiosqlite.Connection | None = None

    async def open(self, call_timeout: float = 5.0) -> AuthBudget:
        await self.close()
        self.conn = await open_database(self.path)
        budget = AuthBudget(
            SqliteBudgetStore(self.conn), KEY, clock=self.clock, call_timeout=call_timeout
        )
        await budget.load()
        return budget

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
            self.conn = None


@pytest.fixture
async def budgets(db_path: Path, clock: ManualClock) -> AsyncIterator[Budgets]:
    made = Budgets(db_path, clock)
    try:
        yield made
    finally:
        await made.close()


def key(budget: AuthBudget, n: int) -> bytes:
    return budget.credential_key(HOST, f"login{n}", f"secret{n}")


async def fail(budget: AuthBudget, credential: bytes, **kwargs: object) -> None:
    """One request that SMSC answers with error 2."""
    async with budget.lease(HOST, credential, command="test", **kwargs) as lease:  # type: ignore[arg-type]
        lease.outcome = Outcome.REFUSED


async def succeed(budget: AuthBudget, credential: bytes, **kwargs: object) -> None:
    async with budget.lease(HOST, credential, command="test", **kwargs) as lease:  # type: ignore[arg-type]
        lease.outcome = Outcome.AUTHORISED


async def test_failures_and_leases_together_never_exceed_four(budgets: Budgets) -> None:
    budget = await budgets.open()
    for n in range(2):
        await fail(budget, key(budget, n))
    async with AsyncExitStack() as held:
        leases = [
            await held.enter_async_context(budget.lease(HOST, key(budget, n), command="t"))
            for n in (10, 11)
        ]
        # Two failures and two requests in flight: a fifth request waits for one of them.
        waiting = asyncio.create_task(succeed(budget, key(budget, 12)))
        await asyncio.sleep(0)
        assert not waiting.done()
        for lease in leases:
            lease.outcome = Outcome.REFUSED
    # Both failed: four failures, so the waiting request is refused without being sent.
    with pytest.raises(AuthPaused) as paused:
        await waiting
    assert paused.value.until == budgets.clock.now + WINDOW
    assert paused.value.local and paused.value.code == 4 and not paused.value.busy


async def test_a_lease_is_refused_locally_when_none_frees_within_the_call_timeout(
    budgets: Budgets,
) -> None:
    budget = await budgets.open(call_timeout=0.05)
    async with AsyncExitStack() as held:
        for n in range(LIMIT):
            await held.enter_async_context(budget.lease(HOST, key(budget, n), command="t"))
        with pytest.raises(AuthPaused) as paused:
            await succeed(budget, key(budget, 9))
    # Said as a busy moment, not as failures: no failure was recorded.
    assert paused.value.busy


async def test_failures_outlive_a_restart_and_leave_the_window_after_30_minutes(
    budgets: Budgets,
) -> None:
    budget = await budgets.open()
    for n in range(LIMIT):
        await fail(budget, key(budget, n))
        budgets.clock.advance(60)
    budget = await budgets.open(call_timeout=0.05)
    with pytest.raises(AuthPaused) as paused:
        await succeed(budget, key(budget, 9))
    # The oldest failure is 4 minutes old: 26 minutes to go.
    assert paused.value.retry_after == pytest.approx(WINDOW - 4 * 60)
    budgets.clock.advance(WINDOW - 4 * 60)
    await succeed(budget, key(budget, 9))
    # Only the oldest left the window: one place, and the next request takes it.
    async with budget.lease(HOST, key(budget, 10), command="t"):
        with pytest.raises(AuthPaused):
            await succeed(budget, key(budget, 11))


async def test_a_crash_mid_request_counts_as_a_failure(budgets: Budgets) -> None:
    budget = await budgets.open()
    for n in range(LIMIT - 1):
        await fail(budget, key(budget, n))
    # The process dies while SMSC has the request: the lease is never given back.
    await budget.lease(HOST, key(budget, 5), command="t").__aenter__()
    budget = await budgets.open()
    with pytest.raises(AuthPaused):
        await succeed(budget, key(budget, 6))


async def test_one_user_spends_two_and_users_without_a_working_account_two_together(
    budgets: Budgets,
) -> None:
    budget = await budgets.open()
    stranger = {"purpose": Purpose.LOGIN, "user_id": 1, "newcomer": True}
    await fail(budget, key(budget, 1), **stranger)
    await fail(budget, key(budget, 2), **stranger)
    with pytest.raises(AuthPaused):
        await fail(budget, key(budget, 3), **stranger)
    # Another newcomer: the newcomers' two are spent.
    with pytest.raises(AuthPaused):
        await succeed(budget, key(budget, 4), purpose=Purpose.LOGIN, user_id=2, newcomer=True)
    # A customer with a working saved account, and saved credentials, still get through.
    await succeed(budget, key(budget, 5), purpose=Purpose.LOGIN, user_id=3, newcomer=False)
    await succeed(budget, key(budget, 6))
    # A customer also spends at most two.
    customer = {"purpose": Purpose.LOGIN, "user_id": 3, "newcomer": False}
    await fail(budget, key(budget, 7), **customer)
    await fail(budget, key(budget, 8), **customer)
    with pytest.raises(AuthPaused):
        await succeed(budget, key(budget, 9), **customer)


async def test_refused_credentials_are_never_sent_again_until_typed_in_anew(
    budgets: Budgets,
) -> None:
    budget = await budgets.open()
    stale = budget.credential_key(HOST, "alice", PASSWORD)
    await fail(budget, stale)
    budgets.clock.advance(2 * WINDOW)
    budget = await budgets.open()
    with pytest.raises(CredentialsRefused) as refused:
        await succeed(budget, stale)
    assert refused.value.rejected_at == budgets.clock.now - 2 * WINDOW
    # Typed in anew at /login: sent, and once SMSC accepts them, saved accounts may use them.
    await succeed(budget, stale, purpose=Purpose.LOGIN, user_id=1)
    budget = await budgets.open()
    await succeed(budget, stale)
    # Only keyed hashes reach the file: a plain hash of the password could be brute-forced.
    await fail(budget, stale)
    await budgets.close()
    content = b"".join(p.read_bytes() for p in budgets.path.parent.iterdir())
    assert PASSWORD.encode() not in content
    plain = hashlib.sha256(f"{HOST}\0alice\0{PASSWORD}".encode()).digest()
    assert plain not in content
    assert stale in content


async def test_unproven_credentials_go_one_at_a_time_and_known_good_two(
    budgets: Budgets,
) -> None:
    budget = await budgets.open()
    unproven = key(budget, 1)
    async with budget.lease(HOST, unproven, command="t") as first:
        behind = asyncio.create_task(succeed(budget, unproven))
        await asyncio.sleep(0)
        assert not behind.done()
        first.outcome = Outcome.REFUSED
    # Refused while it waited: never sent.
    with pytest.raises(CredentialsRefused):
        await behind
    good = key(budget, 2)
    await succeed(budget, good)
    async with AsyncExitStack() as held:
        leases: list[Lease] = [
            await held.enter_async_context(budget.lease(HOST, good, command="t")) for _ in range(2)
        ]
        third = asyncio.create_task(succeed(budget, good))
        await asyncio.sleep(0)
        assert not third.done()
        for lease in leases:
            lease.outcome = Outcome.AUTHORISED
    await third


async def test_places_go_to_waiting_requests_in_order_and_a_cancelled_one_takes_none(
    budgets: Budgets,
) -> None:
    budget = await budgets.open()
    held = [budget.lease(HOST, key(budget, n), command="t") for n in range(LIMIT)]
    for lease in held:
        await lease.__aenter__()
    first, second, third = (
        asyncio.create_task(succeed(budget, key(budget, n))) for n in (10, 11, 12)
    )
    await asyncio.sleep(0)
    # One place frees: the oldest waiter has it, the others wait on.
    await held[0].__aexit__(None, None, None)
    await first
    assert not second.done() and not third.done()
    # A waiter that gives up is skipped: the next place goes to the one behind it.
    second.cancel()
    await held[1].__aexit__(None, None, None)
    await third
    assert second.cancelled()
    for lease in held[2:]:
        await lease.__aexit__(None, None, None)
    # Every place is free again: four requests at once go through without waiting.
    async with AsyncExitStack() as again:
        for n in range(20, 20 + LIMIT):
            await asyncio.wait_for(
                again.enter_async_context(budget.lease(HOST, key(budget, n), command="t")), 1
            )


async def test_an_identical_log_in_check_waiting_behind_a_refused_one_is_not_sent(
    budgets: Budgets,
) -> None:
    budget = await budgets.open()
    typo = key(budget, 1)
    check = {"purpose": Purpose.LOGIN, "user_id": 1, "newcomer": True}
    async with budget.lease(HOST, typo, command="t", **check) as first:  # type: ignore[arg-type]
        same = asyncio.create_task(fail(budget, typo, **check))
        await asyncio.sleep(0)
        first.outcome = Outcome.REFUSED
    with pytest.raises(CredentialsRefused):
        await same
    # Typed in again afterwards, even at the same clock reading: a new check, and it is sent.
    await succeed(budget, typo, **check)
