"""The client's own limits, kept below SMSC's so that SMSC never punishes the bot's users.

SMSC answers error 9 to a fourth identical request in a minute, to 15 concurrent requests under
one login and to an 11th balance request in a minute, and blocks an IP for 30 minutes after error 4.
Everything here is per account and shared by every client object of that account.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

Clock = Callable[[], float]

WINDOW = 60.0


class SlidingWindow:
    """Counts events in the last ``WINDOW`` seconds and says whether one more fits."""

    __slots__ = ("_clock", "_events", "limit")

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._events: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._events and now - self._events[0] >= WINDOW:
            self._events.popleft()

    def wait_time(self) -> float:
        """0 when one more event fits now, else seconds until it will."""
        now = self._clock()
        self._prune(now)
        if len(self._events) < self.limit:
            return 0.0
        return WINDOW - (now - self._events[0])

    def add(self) -> float:
        """Take a place now; returns its time stamp for ``settle``."""
        now = self._clock()
        self._events.append(now)
        return now

    def settle(self, stamp: float) -> None:
        """Move the place taken at ``stamp`` to now (kept in order), where it counts longer."""
        try:
            self._events.remove(stamp)
        except ValueError:
            return
        bisect.insort(self._events, self._clock())

    def idle(self) -> bool:
        self._prune(self._clock())
        return not self._events


class ReadCache:
    """Answers identical reads from memory for ``ttl`` seconds; a write invalidates everything.

    Concurrent identical reads share one request. A read that was in flight while a write
    happened is not stored, so a list is never served from before a change the user just made.
    """

    def __init__(self, ttl: float, clock: Clock) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self._generation = 0

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def get_or_fetch(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > now:
                return entry[1]
            del self._entries[key]
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        generation = self._generation
        try:
            value = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody else may be waiting; mark the exception as retrieved.
            future.exception()
            raise
        else:
            future.set_result(value)
            if generation == self._generation and self._ttl > 0:
                self._entries[key] = (self._clock() + self._ttl, value)
            return value
        finally:
            del self._inflight[key]

    def prune(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]


class AccountLimits:
    """Everything the client must remember about one SMSC account (one login on one host)."""

    def __init__(
        self,
        *,
        max_concurrency: int,
        cache_ttl: float,
        identical_per_minute: int,
        balance_per_minute: int,
        clock: Clock,
    ) -> None:
        self.gate = asyncio.Semaphore(max_concurrency)
        self.cache = ReadCache(cache_ttl, clock)
        self.balance = SlidingWindow(balance_per_minute, clock)
        self._clock = clock
        self._identical_limit = identical_per_minute
        self._identical: dict[Hashable, SlidingWindow] = {}
        self._prune_at = 1024
        self._per_command: dict[str, SlidingWindow] = {}

    def identical(self, key: Hashable) -> SlidingWindow:
        window = self._identical.get(key)
        if window is None:
            if len(self._identical) >= self._prune_at:
                # Amortised: prune only when the map has doubled since the last prune.
                self._identical = {k: w for k, w in self._identical.items() if not w.idle()}
                self.cache.prune()
                self._prune_at = max(1024, 2 * len(self._identical))
            window = self._identical[key] = SlidingWindow(self._identical_limit, self._clock)
        return window

    def per_command(self, command: str, limit: int) -> SlidingWindow:
        window = self._per_command.get(command)
        if window is None:
            window = self._per_command[command] = SlidingWindow(limit, self._clock)
        return window


class HostCooldown:
    """Hosts that answered error 4 (IP blocked) are not called again until the block is over."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        self._seconds = seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def block(self, host: str) -> None:
        self._until[host] = self._clock() + self._seconds

    def remaining(self, host: str) -> float:
        until = self._until.get(host)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._until[host]
            return 0.0
        return left
