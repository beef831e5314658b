"""SMSC's limits held across replicas: connectors sharing one real Redis, one SMSC emulator
counting what reaches it."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.smsc import Credentials, SmscConnector, SmscError, SmscSettings
from bot.smsc.budget import LIMIT, WINDOW, AuthBudget, MemoryBudgetStore, Purpose
from bot.smsc.emulator import SmscEmulator
from bot.smsc.errors import AuthPaused
from bot.smsc.shared import QUEUE_ALIVE, SharedLimits
from tests.conftest import LOGIN, ManualClock
from tests.support.servers import Redis

pytestmark = pytest.mark.redis

KEY = b"k" * 32
TTL = 30.0

Replicas = Callable[..., list[SmscConnector]]


@pytest.fixture
async def replicas(
    redis: Redis, emulator: SmscEmulator, clock: ManualClock
) -> AsyncIterator[Replicas]:
    """Makes connectors as separate replicas would have them: each its own Redis connection,
    budget and HTTP pool; one key prefix per test keeps tests apart on the one server."""
    prefix = f"t{secrets.token_hex(4)}:"
    made: list[SmscConnector] = []

    def make(count: int, **settings: float) -> list[SmscConnector]:
        for _ in range(count):
            shared = SharedLimits.from_url(
                redis.url, KEY, clock=clock, lease_clock=clock, lease_ttl=TTL, prefix=prefix
            )
            budget = AuthBudget(MemoryBudgetStore(), KEY, clock=clock, shared=shared)
            made.append(
                SmscConnector(
                    SmscSettings(api_url=emulator.base_url, **settings),
                    clock=clock,
                    budget=budget,
                    shared=shared,
                )
            )
        return made[-count:]

    try:
        yield make
    finally:
        for connector in made:
            await connector.aclose()
            assert connector.shared is not None
            await connector.shared.aclose()


def authorised(emulator: SmscEmulator) -> int:
    return sum(1 for r in emulator.requests if r.login is not None)


def failed(emulator: SmscEmulator) -> int:
    return sum(1 for r in emulator.requests if r.login is None)


async def test_three_replicas_never_exceed_four_requests_in_flight_for_one_login(
    replicas: Replicas, emulator: SmscEmulator, credentials: Credentials
) -> None:
    emulator.latency = 0.02
    connectors = replicas(3)
    # Distinct reads: neither the cache nor the identical-request window folds them.
    calls = [
        connector.client(credentials).get_contacts(phone=f"7900{index:07d}")
        for index in range(20)
        for connector in connectors
    ]
    await asyncio.gather(*calls)
    assert authorised(emulator) == 60
    assert 1 <= emulator.max_in_flight[LOGIN] <= 4


async def test_the_gate_holds_its_cap_under_many_tasks_of_two_replicas(
    replicas: Replicas,
) -> None:
    one, two = (c.shared for c in replicas(2))
    assert one is not None and two is not None
    inside = most = 0

    async def work(shared: SharedLimits) -> None:
        nonlocal inside, most
        async with shared.gate("host\0login", 4):
            inside += 1
            most = max(most, inside)
            # Yield to the loop so that the other tasks try to get in meanwhile.
            for _ in range(3):
                await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(work(shared) for _ in range(25) for shared in (one, two)))
    assert 1 <= most <= 4
    # Exactly 4: two on each replica get in, a fifth from either waits until one leaves.
    taken = [await shared.try_gate("host\0other", 4) for shared in (one, two, one, two)]
    assert None not in taken
    assert await one.try_gate("host\0other", 4) is None
    assert await two.try_gate("host\0other", 4) is None
    assert taken[0] is not None
    await one.release_gate("host\0other", taken[0], 4)
    assert await two.try_gate("host\0other", 4) is not None


async def test_at_most_four_failed_authorisations_across_three_replicas(
    replicas: Replicas, emulator: SmscEmulator
) -> None:
    connectors = replicas(3)
    calls = []
    for index, connector in enumerate(connectors):
        for attempt in range(4):
            # People typing wrong passwords and saved passwords changed on the site.
            wrong = Credentials.with_password(LOGIN, f"wrong-{index}-{attempt}")
            calls.append(
                connector.client(
                    wrong, purpose=Purpose.LOGIN, user_id=100 * index + attempt
                ).get_balance()
            )
            calls.append(connector.client(wrong).get_balance())
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert failed(emulator) == LIMIT
    assert all(isinstance(r, SmscError) for r in results)
    # The rest were refused locally (paused, or credentials seen refused) or shared an answer.
    assert len(emulator.requests) == LIMIT
    assert any(isinstance(r, AuthPaused) for r in results)


async def test_a_credential_refused_on_one_replica_is_not_sent_by_another(
    replicas: Replicas, emulator: SmscEmulator
) -> None:
    one, two = replicas(2)
    changed = Credentials.with_password(LOGIN, "changed-on-the-site")
    with pytest.raises(SmscError) as first:
        await one.client(changed).get_balance()
    assert first.value.code == 2 and not first.value.local
    with pytest.raises(SmscError) as second:
        await two.client(changed).get_balance()
    assert second.value.local
    assert failed(emulator) == 1


async def test_a_dead_replicas_places_expire_and_its_unproven_leases_count_as_failures(
    replicas: Replicas, emulator: SmscEmulator, clock: ManualClock, credentials: Credentials
) -> None:
    dead, alive = replicas(2)
    assert dead.shared is not None and alive.shared is not None
    host = emulator.base_url
    account = f"{host}\0{LOGIN}"
    # The dead replica held every place of the login and 4 budget leases of credentials not
    # yet known good, then was killed: nothing was released.
    for _ in range(4):
        assert await dead.shared.try_gate(account, 4) is not None
    for index in range(4):
        verdict = await dead.shared.budget_acquire(
            host,
            f"dead-{index}",
            b"unproven",
            now=clock(),
            saved=True,
            pending=True,
            limit=LIMIT,
            window=WINDOW,
        )
        assert verdict.kind == "ok"
    await dead.shared.redis.aclose()

    assert await alive.shared.try_gate(account, 4) is None
    assert await alive.shared.budget_count(host, now=clock(), window=WINDOW) == (0, 4)
    clock.advance(TTL + 1)
    # Their answers were never seen: SMSC may have counted them as failures, so the bot does.
    assert await alive.shared.budget_count(host, now=clock(), window=WINDOW) == (4, 0)
    with pytest.raises(AuthPaused):
        await alive.client(credentials).get_balance()
    assert authorised(emulator) == 0
    clock.advance(WINDOW)
    assert (await alive.client(credentials).get_balance()).balance > 0


async def test_known_good_leases_of_a_dead_replica_free_without_a_failure(
    replicas: Replicas, emulator: SmscEmulator, clock: ManualClock
) -> None:
    dead, alive = replicas(2)
    assert dead.shared is not None and alive.shared is not None
    host = emulator.base_url
    for index in range(4):
        verdict = await dead.shared.budget_acquire(
            host,
            f"good-{index}",
            b"good",
            now=clock(),
            saved=True,
            pending=False,
            limit=LIMIT,
            window=WINDOW,
        )
        assert verdict.kind == "ok"
    await dead.shared.redis.aclose()
    clock.advance(TTL + 1)
    assert await alive.shared.budget_count(host, now=clock(), window=WINDOW) == (0, 0)


async def test_a_host_blocked_on_one_replica_is_paused_on_the_others(
    replicas: Replicas, emulator: SmscEmulator, credentials: Credentials, clock: ManualClock
) -> None:
    one, two = replicas(2)
    emulator.fault = 4
    with pytest.raises(SmscError) as blocked:
        await one.client(credentials).get_balance()
    assert blocked.value.code == 4 and not blocked.value.local
    emulator.fault = None
    sent = len(emulator.requests)
    with pytest.raises(SmscError) as paused:
        await two.client(credentials).get_contacts()
    assert paused.value.code == 4 and paused.value.local
    assert len(emulator.requests) == sent
    clock.advance(30 * 60 + 1)
    await two.client(credentials).get_contacts()


async def test_three_identical_requests_a_minute_across_replicas(
    replicas: Replicas, emulator: SmscEmulator, credentials: Credentials, clock: ManualClock
) -> None:
    one, two = replicas(2, cache_ttl=0.0)
    await one.client(credentials).get_contacts(phone="79001234567")
    await two.client(credentials).get_contacts(phone="79001234567")
    await one.client(credentials).get_contacts(phone="79001234567")
    with pytest.raises(SmscError) as fourth:
        await two.client(credentials).get_contacts(phone="79001234567")
    assert fourth.value.code == 9 and fourth.value.local
    assert authorised(emulator) == 3
    # Refused with the budget's own script: it took no place there either.
    assert two.shared is not None
    assert await two.shared.budget_count(emulator.base_url, now=clock(), window=WINDOW) == (0, 0)
    clock.advance(60)
    await two.client(credentials).get_contacts(phone="79001234567")


async def test_the_read_cache_is_shared_and_a_write_anywhere_invalidates_it(
    replicas: Replicas, emulator: SmscEmulator, credentials: Credentials, clock: ManualClock
) -> None:
    one, two = replicas(2)
    assert await one.client(credentials).get_contacts() == []
    assert await two.client(credentials).get_contacts() == []
    assert authorised(emulator) == 1
    await two.client(credentials).add_contact("79001234567", name="Ann")
    contacts = await one.client(credentials).get_contacts()
    assert [c.name for c in contacts] == ["Ann"]
    assert authorised(emulator) == 3
    # Nothing in Redis reads as the account's answers: they are encrypted.
    assert one.shared is not None
    keys = await one.shared.redis.keys(one.shared.prefix + "*")
    assert keys
    for key in keys:
        kind = key.split(b":")[1]
        if kind == b"cache":
            assert b"Ann" not in await one.shared.redis.get(key)
        assert LOGIN.encode() not in key


async def test_leases_are_timed_by_redis_not_by_a_replica_whose_clock_runs_ahead(
    redis: Redis,
) -> None:
    prefix = f"t{secrets.token_hex(4)}:"
    on_time = SharedLimits.from_url(redis.url, KEY, prefix=prefix, lease_ttl=TTL)
    ahead = SharedLimits.from_url(
        redis.url, KEY, clock=lambda: time.time() + 3600, prefix=prefix, lease_ttl=TTL
    )
    try:
        for _ in range(4):
            assert await on_time.try_gate("host\0login", 4) is not None
        assert await ahead.try_gate("host\0login", 4) is None
        verdict = await on_time.budget_acquire(
            "host", "x", b"k", now=time.time(), saved=True, pending=True, limit=1, window=WINDOW
        )
        assert verdict.kind == "ok"
        assert await ahead.budget_count("host", now=time.time() + 3600, window=WINDOW) == (0, 1)
    finally:
        await on_time.aclose()
        await ahead.aclose()


async def test_a_freed_budget_place_goes_to_the_first_waiter_not_a_newcomer(
    replicas: Replicas, clock: ManualClock
) -> None:
    holder, waiting, newcomer = (c.shared for c in replicas(3))
    assert holder is not None and waiting is not None and newcomer is not None
    host = "https://smsc.example"

    async def acquire(shared: SharedLimits, lease: str) -> str:
        verdict = await shared.budget_acquire(
            host, lease, b"good", now=clock(), saved=True, pending=False, limit=LIMIT, window=WINDOW
        )
        return verdict.kind

    async def release(lease: str) -> None:
        await holder.budget_release(
            host,
            lease,
            now=clock(),
            failed_at=None,
            refused=None,
            authorised=b"good",
            limit=LIMIT,
            window=WINDOW,
        )

    for index in range(LIMIT):
        assert await acquire(holder, f"held-{index}") == "ok"
    assert await acquire(waiting, "first") == "wait"
    await release("held-0")
    # The release woke the first waiter on a list of its own: it does not sit out RECHECK.
    assert await waiting.budget_wait(host, "first", 0.01)
    # A request that came after the release does not overtake the one that waited for it.
    assert await acquire(newcomer, "late") == "wait"
    assert await acquire(waiting, "first") == "ok"
    assert await newcomer.budget_count(host, now=clock(), window=WINDOW) == (0, LIMIT)
    # A waiter that gives up leaves the queue: the one behind it is next.
    await newcomer.budget_leave(host, "late")
    await release("held-1")
    assert await acquire(newcomer, "later") == "ok"


async def test_a_dead_waiter_lapses_out_of_the_budget_queue(
    replicas: Replicas, clock: ManualClock
) -> None:
    (shared,) = (c.shared for c in replicas(1))
    assert shared is not None
    host = "https://smsc.example"

    async def acquire(lease: str) -> str:
        verdict = await shared.budget_acquire(
            host, lease, b"good", now=clock(), saved=True, pending=False, limit=1, window=WINDOW
        )
        return verdict.kind

    assert await acquire("held") == "ok"
    assert await acquire("dead") == "wait"
    await shared.budget_release(
        host,
        "held",
        now=clock(),
        failed_at=None,
        refused=None,
        authorised=None,
        limit=1,
        window=WINDOW,
    )
    assert await acquire("alive") == "wait"
    # The first waiter's replica died: it never looks again, and after QUEUE_ALIVE it is gone;
    # the second looks again now and then, so it stays.
    clock.advance(QUEUE_ALIVE / 2)
    assert await acquire("alive") == "wait"
    clock.advance(QUEUE_ALIVE / 2 + 0.001)
    assert await acquire("alive") == "ok"


async def test_a_request_costs_four_redis_round_trips(
    replicas: Replicas, emulator: SmscEmulator, credentials: Credentials
) -> None:
    (connector,) = replicas(1, cache_ttl=0)
    shared = connector.shared
    assert shared is not None
    client = connector.client(credentials)
    await client.get_balance()
    sent: list[object] = []
    send = shared.redis.execute_command

    async def counted(*args: object, **options: object) -> object:
        # Counted where redis-py sends: a Lua script is one command, as it is one round trip.
        sent.append(args[0])
        return await send(*args, **options)

    shared.redis.execute_command = counted  # type: ignore[method-assign]
    await client.get_balance()
    # The per-login place and its release, the budget's place (with the host's cool-down and
    # SMSC's windows in the same script) and its release.
    assert len(sent) == 4, sent
