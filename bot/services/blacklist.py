"""The black list as last read from SMSC, reused for a minute and kept up to date by our writes.

phones.php documents no filter for get_black, only ``prev_id`` paging, and answers error 9 to a
fourth identical request within a minute. Finding one number means reading the whole list, so a
read is kept for a minute and every add, change and delete made through the bot is applied to it:
several searches or bulk adds in a row never repeat the identical read.

Also here: one page of the list (filtered by digits), and the bulk add that many numbers at once
go through, with its progress reported to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

from bot.phones import Phone, digits_of
from bot.services.paging import page_after, page_before
from bot.smsc import SmscBadResponse, SmscError, SmscUnavailable
from bot.smsc.client import SmscClient
from bot.smsc.models import BlackEntry, BlackType

__all__ = ["BlackList", "BlackLists", "Bulk", "digits_of"]

T = TypeVar("T")

# SMSC counts identical requests per minute: a read younger than this is used again.
REUSE_SECONDS = 60.0
# del_black's answer when the number is not in the list.
NO_RECORDS: Final = 3
# Entries read per step when a search walks the list.
SEARCH_PAGE: Final = 200
SCAN_PAGE: Final = 1000
# More workers than the client's per-login cap, so the cap, not the workers, sets the pace.
BULK_WORKERS: Final = 8
# Errors after which the rest of a bulk would fail the same way.
FATAL_CODES: Final = frozenset({2, 4, 9})


@dataclass
class Bulk:
    """A bulk add as it goes: counters the workers update and the summary reads."""

    total: int
    done: int = 0
    added: int = 0
    already: int = 0
    # The numbers (as shown) added, and those that were in the list before, for the summary.
    added_numbers: list[str] = field(default_factory=list)
    already_numbers: list[str] = field(default_factory=list)
    # (number as shown, SMSC's refusal)
    failed: list[tuple[str, SmscError]] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    # What stopped the rest: an SMSC error in FATAL_CODES, or SMSC unreachable / not understood.
    stopped: Exception | None = None
    # Valid numbers beyond the limit of one bulk, never sent to SMSC.
    left_out: int = 0


def _entry_id(entry: BlackEntry) -> int:
    return entry.id


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

    def added(
        self,
        smsc: SmscClient,
        digits: str,
        kind: BlackType,
        entry_id: int = 0,
        comment: str | None = None,
    ) -> None:
        """SMSC accepted an add (or a re-add with another type) of this number."""
        snapshot = self._snapshots.get(smsc.account_key)
        if snapshot is not None:
            old = snapshot.entries.get(digits)
            snapshot.entries[digits] = BlackEntry(
                id=entry_id or (old.id if old else 0),
                phone=digits,
                type=kind,
                comment=comment if comment is not None else (old.comment if old else ""),
            )

    def removed(self, smsc: SmscClient, digits: str) -> None:
        """The number is no longer listed."""
        snapshot = self._snapshots.get(smsc.account_key)
        if snapshot is not None:
            snapshot.entries.pop(digits, None)

    def forget(self, smsc: SmscClient) -> None:
        """A write's outcome is unknown: the next search reads the list again."""
        self._snapshots.pop(smsc.account_key, None)

    async def write(self, smsc: SmscClient, request: Awaitable[T]) -> T:
        """A black-list write; when its outcome is unknown, the list is read afresh next time."""
        try:
            return await request
        except (SmscUnavailable, SmscBadResponse):
            self.forget(smsc)
            raise

    async def add(
        self, smsc: SmscClient, digits: str, kind: BlackType, comment: str | None = None
    ) -> int:
        """Add the number (again, with another type: the one way to change it SMSC knows);
        ``comment`` is SMSC's cmt (why it was blocked)."""
        entry_id = await self.write(smsc, smsc.add_black(digits, type=kind, comment=comment))
        self.added(smsc, digits, kind, entry_id, comment)
        return entry_id

    async def position(self, smsc: SmscClient, query: str, first_id: int) -> tuple[int, int]:
        """Where entry ``first_id`` stands among those whose digits hold ``query``, newest first
        (0-based), and how many there are: the list read within the minute is used."""
        ids = sorted(
            (e.id for d, e in (await self.entries(smsc)).items() if query in d), reverse=True
        )
        older = sum(1 for i in ids if i > first_id)
        return older, len(ids)

    async def delete(self, smsc: SmscClient, digits: str) -> None:
        """Remove the number; SMSC's error NO_RECORDS (not listed) goes on to the caller."""
        try:
            await self.write(smsc, smsc.delete_black(digits))
        except SmscError as exc:
            if exc.code == NO_RECORDS:
                self.removed(smsc, digits)
            raise
        self.removed(smsc, digits)

    async def page(
        self, smsc: SmscClient, query: str, direction: str, at: int, size: int
    ) -> tuple[list[BlackEntry], bool, bool]:
        """A page of entries whose digits hold ``query``, and whether pages come before and
        after it: ``direction`` "n" is older than id ``at`` (0: the newest), "p" just newer."""

        async def read(before: int | None, count: int) -> list[BlackEntry]:
            return await smsc.get_black(cnt=count, prev_id=before)

        def keep(entry: BlackEntry) -> bool:
            return query in digits_of(entry.phone)

        if direction == "n":
            found = await page_after(
                read,
                _entry_id,
                at or None,
                size + 1,
                ascending=False,
                keep=keep if query else None,
                chunk=SEARCH_PAGE,
            )
            return found[:size], at > 0, len(found) > size
        return await page_before(
            read, _entry_id, at, size, ascending=False, keep=keep, chunk=SCAN_PAGE
        )

    async def bulk_add(
        self,
        smsc: SmscClient,
        bulk: Bulk,
        phones: Sequence[Phone],
        progress: Callable[[Bulk], Awaitable[object]],
        *,
        interval: float,
        workers: int = BULK_WORKERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> Bulk:
        """Add many numbers concurrently (the client caps requests per login) with type "all";
        ``progress`` is called at most every ``interval`` seconds, the last call at least
        ``interval`` before this returns."""
        listed = await self.listed(smsc, {p.digits for p in phones})
        bulk.already = bulk.done = len(listed)
        bulk.already_numbers = [p.display for p in phones if p.digits in listed]
        queue: Iterator[Phone] = (p for p in phones if p.digits not in listed)
        started = clock()
        last_call: float | None = None

        async def worker() -> None:
            # One shared iterator: each number is taken by exactly one worker.
            for phone in queue:
                if bulk.stopped is not None:
                    return
                try:
                    await self.add(smsc, phone.digits, BlackType.ALL)
                except SmscError as exc:
                    if exc.code in FATAL_CODES:
                        bulk.stopped = bulk.stopped or exc
                        return
                    bulk.failed.append((phone.display, exc))
                except (SmscUnavailable, SmscBadResponse) as exc:
                    if exc.uncertain:
                        bulk.unconfirmed.append(phone.display)
                        bulk.done += 1
                    bulk.stopped = bulk.stopped or exc
                    return
                else:
                    bulk.added += 1
                    bulk.added_numbers.append(phone.display)
                bulk.done += 1

        running = asyncio.gather(*(worker() for _i in range(workers)))
        finished = asyncio.Event()
        running.add_done_callback(lambda _f: finished.set())
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=interval)
            if finished.is_set():
                break
            # Skip a call when the rest will be done within the interval: the end then follows
            # the last call without waiting out the interval.
            elapsed = clock() - started
            rate = (bulk.done - bulk.already) / elapsed if elapsed > 0 else 0.0
            remaining = bulk.total - bulk.done
            if rate and remaining / rate < interval:
                continue
            await progress(bulk)
            last_call = clock()
        await running
        order = {p.display: i for i, p in enumerate(phones)}
        bulk.added_numbers.sort(key=lambda shown: order.get(shown, 0))
        if last_call is not None:
            wait = interval - (clock() - last_call)
            if wait > 0:
                await asyncio.sleep(wait)
        return bulk

    def of(self, smsc: SmscClient) -> BlackList:
        return BlackList(self, smsc)

    def _fresh(self, key: tuple[str, str]) -> _Snapshot | None:
        snapshot = self._snapshots.get(key)
        if snapshot is None or self._clock() - snapshot.read_at >= self.reuse_seconds:
            return None
        return snapshot


class BlackList:
    """One account's black list, as one chat sees it: BlackLists bound to the chat's client."""

    def __init__(self, lists: BlackLists, smsc: SmscClient) -> None:
        self.lists = lists
        self.smsc = smsc

    async def find(self, digits: str) -> BlackEntry | None:
        return await self.lists.find(self.smsc, digits)

    async def add(self, digits: str, kind: BlackType, comment: str | None = None) -> int:
        return await self.lists.add(self.smsc, digits, kind, comment)

    async def position(self, query: str, first_id: int) -> tuple[int, int]:
        return await self.lists.position(self.smsc, query, first_id)

    async def delete(self, digits: str) -> None:
        await self.lists.delete(self.smsc, digits)

    async def page(
        self, query: str, direction: str, at: int, size: int
    ) -> tuple[list[BlackEntry], bool, bool]:
        return await self.lists.page(self.smsc, query, direction, at, size)

    async def bulk_add(
        self,
        bulk: Bulk,
        phones: Sequence[Phone],
        progress: Callable[[Bulk], Awaitable[object]],
        *,
        interval: float,
    ) -> Bulk:
        return await self.lists.bulk_add(self.smsc, bulk, phones, progress, interval=interval)
