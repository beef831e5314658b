"""The black list as last read from SMSC, reused for a minute and kept up to date by our writes.

phones.php documents no filter for get_black, only ``prev_id`` paging, and answers error 9 to a
fourth identical request within a minute. Finding one number means reading the whole list, so a
read is kept for a minute and every add, change and delete made through the bot is applied to it:
several searches or bulk adds in a row never repeat the identical read.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.smsc.client import SmscClient
from bot.smsc.models import BlackEntry, BlackType

# SMSC counts identical requests per minute: a read younger than this is used again.
REUSE_SECONDS = 60.0


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@dataclass
class _Snapshot:
    read_at: float
    entries: dict[str, BlackEntry] = field(default_factory=dict)


class BlackLists:
    """Per SMSC account: the black list by number, read at most once a minute."""

    def __init__(
        self,
        *,
        reuse_seconds: float = REUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        accounts: int = 500,
    ) -> None:
        self.reuse_seconds = reuse_seconds
        self._clock = clock
        self._size = accounts
        self._snapshots: OrderedDict[tuple[str, str], _Snapshot] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def entries(self, smsc: SmscClient) -> dict[str, BlackEntry]:
        """Every entry by its number's digits; read from SMSC unless read within the minute."""
        key = smsc.account_key
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            snapshot = self._fresh(key)
            if snapshot is None:
                started = self._clock()
                entries = {digits_of(e.phone): e async for e in smsc.iter_black()}
                snapshot = self._snapshots[key] = _Snapshot(started, entries)
                while len(self._snapshots) > self._size:
                    old, _ = self._snapshots.popitem(last=False)
                    self._locks.pop(old, None)
            self._snapshots.move_to_end(key)
            return snapshot.entries

    async def find(self, smsc: SmscClient, digits: str) -> BlackEntry | None:
        """The entry for exactly this number, if listed."""
        return (await self.entries(smsc)).get(digits)

    async def listed(self, smsc: SmscClient, numbers: Iterable[str]) -> set[str]:
        """Those of ``numbers`` (digits) that are in the list."""
        entries = await self.entries(smsc)
        return {n for n in numbers if n in entries}

    def added(self, smsc: SmscClient, digits: str, kind: BlackType, entry_id: int = 0) -> None:
        """SMSC accepted an add (or a re-add with another type) of this number."""
        snapshot = self._snapshots.get(smsc.account_key)
        if snapshot is not None:
            old = snapshot.entries.get(digits)
            snapshot.entries[digits] = BlackEntry(
                id=entry_id or (old.id if old else 0),
                phone=digits,
                type=kind,
                comment=old.comment if old else "",
            )

    def removed(self, smsc: SmscClient, digits: str) -> None:
        """The number is no longer listed."""
        snapshot = self._snapshots.get(smsc.account_key)
        if snapshot is not None:
            snapshot.entries.pop(digits, None)

    def forget(self, smsc: SmscClient) -> None:
        """A write's outcome is unknown: the next search reads the list again."""
        self._snapshots.pop(smsc.account_key, None)

    def _fresh(self, key: tuple[str, str]) -> _Snapshot | None:
        snapshot = self._snapshots.get(key)
        if snapshot is None or self._clock() - snapshot.read_at >= self.reuse_seconds:
            return None
        return snapshot
