"""The black list's bulk add: an error that would fail every number stops it at once, any other
refusal is counted per number, and progress is reported at most once an interval."""

from __future__ import annotations

import pytest

from bot.phones import Phone
from bot.services.blacklist import BULK_WORKERS, BlackLists, Bulk
from bot.smsc import Credentials, SmscConnector, SmscError
from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN


def phones(count: int) -> list[Phone]:
    return [Phone(f"7999{i:07d}", f"+7 999 {i:07d}") for i in range(count)]


def adds(emulator: SmscEmulator) -> int:
    return sum(1 for r in emulator.requests if r.params.get("add_black"))


async def noop(_bulk: Bulk) -> None:
    return None


@pytest.mark.parametrize("code", [2, 4, 9])
async def test_a_fatal_code_stops_the_rest(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator, code: int
) -> None:
    smsc = connector.client(credentials)
    lists = BlackLists()
    await lists.entries(smsc)  # the duplicate check reads the list before anything is added
    emulator.fault = code
    bulk = Bulk(total=30)
    await lists.bulk_add(smsc, bulk, phones(30), noop, interval=60)
    assert isinstance(bulk.stopped, SmscError) and bulk.stopped.code == code
    assert (bulk.added, bulk.failed) == (0, [])
    # Only the requests already under way when the first answer came.
    assert adds(emulator) <= BULK_WORKERS
    assert bulk.done < bulk.total


async def test_other_refusals_are_counted_and_the_rest_goes_on(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    smsc = connector.client(credentials)
    emulator.accounts[LOGIN].add_black("79990000000", 1)
    lists = BlackLists()
    await lists.entries(smsc)
    emulator.fault = 7
    bulk = Bulk(total=12)
    await lists.bulk_add(smsc, bulk, phones(12), noop, interval=60)
    assert bulk.stopped is None
    assert (bulk.already, bulk.added, bulk.done) == (1, 0, 12)
    assert sorted(number for number, _exc in bulk.failed) == [p.display for p in phones(12)[1:]]
    assert {exc.code for _n, exc in bulk.failed} == {7}
    assert adds(emulator) == 11


async def test_added_numbers_are_known_to_the_next_duplicate_check(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    smsc = connector.client(credentials)
    lists = BlackLists()
    first = Bulk(total=5)
    await lists.bulk_add(smsc, first, phones(5), noop, interval=60)
    assert (first.added, first.already) == (5, 0)
    again = Bulk(total=6)
    await lists.bulk_add(smsc, again, phones(6), noop, interval=60)
    assert (again.added, again.already) == (1, 5)
    assert len(emulator.accounts[LOGIN].black) == 6
