"""The black list as last read: paged with prev_id, reused within the minute, kept up to date."""

from __future__ import annotations

from bot.services.blacklist import BlackLists
from bot.smsc import Credentials, SmscConnector
from bot.smsc.emulator import SmscEmulator
from bot.smsc.models import BlackType
from tests.conftest import LOGIN, ManualClock


def reads(emulator: SmscEmulator) -> list[dict[str, str]]:
    return [r.params for r in emulator.requests if r.params.get("get_black")]


async def test_read_once_a_minute_and_updated_by_writes(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator, clock: ManualClock
) -> None:
    smsc = connector.client(credentials)
    for i in range(1200):
        emulator.accounts[LOGIN].add_black(f"7998{i:07d}", 1)
    lists = BlackLists(clock=clock)
    found = await lists.find(smsc, "79980000007")
    assert found is not None and found.type is BlackType.MASS
    assert [r.get("prev_id") is None for r in reads(emulator)] == [True, False]
    assert all("phone" not in r for r in reads(emulator))

    lists.added(smsc, "79991112233", BlackType.SINGLE, 5)
    lists.removed(smsc, "79980000007")
    clock.advance(59)
    assert await lists.find(smsc, "79980000007") is None
    entry = await lists.find(smsc, "79991112233")
    assert entry is not None and entry.type is BlackType.SINGLE
    assert len(reads(emulator)) == 2

    clock.advance(1)
    assert await lists.find(smsc, "79980000007") is not None
    assert len(reads(emulator)) == 4
    lists.forget(smsc)
    await lists.find(smsc, "79980000007")
    assert len(reads(emulator)) == 6
