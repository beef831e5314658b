"""Notifications on their way to Telegram: a queue paced under Telegram's limits.

Telegram lets a bot send about 30 messages a second in all and 1 a second to one chat. Sends
start at most ``rate`` a second overall (spaced evenly, so no second holds more) and one chat
gets at most one every ``per_chat`` seconds; several may be in flight at once, so a slow answer
does not slow the rate. What is queued is in the database first (``Store``), so a restart sends
it rather than losing it, and a message is removed once Telegram took it. A message known before
it is due (a digest) can be prepared ahead (``prepare_ahead``): at its time only the send is
left. What was prepared is kept in memory only; after a restart it is prepared at the send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Protocol

from bot.tasks import Background

log = logging.getLogger(__name__)

# Under Telegram's 30 a second: sends start 1/30 s apart, but they reach Telegram jittered by the
# network and the event loop, and bench/notify.py saw 31 arrive within one second at 30.
RATE: Final = 29.0
PER_CHAT: Final = 1.0
IN_FLIGHT: Final = 32
# A message Telegram could not take for another reason (network, a 5xx) is tried this often.
RETRY_DELAY: Final = 5.0
MAX_TRIES: Final = 5
# Messages prepared ahead and kept until sent: a bound on memory (a digest's chart is ~45 KB,
# shared by the chats of one account and language: at most ~45 MB), and how long one is kept
# unclaimed (its chat may have switched the digest off meanwhile).
AHEAD_KEEP: Final = 1000
AHEAD_TTL: Final = 3600.0


class Delivery(Enum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the chat blocked the bot or is gone; never tried again
    RETRY = "retry"  # flood control beyond what the session waits out, or a passing failure
    FAILED = "failed"  # Telegram will never take this message (400): dropped


@dataclass(frozen=True, slots=True)
class Result:
    delivery: Delivery
    retry_after: float = 0.0


# What the app wires in: ``Prepare`` renders the payload in the chat's language (a digest's
# chart drawn), ``Send`` sends what it made. Only the send is paced: the time a preparation
# takes (a database read, a chart) varies, and would bunch requests up at Telegram. ``Fresh``
# says whether what was prepared ahead still holds at the send (the chat's language may have
# changed since); if not, it is prepared again.
Prepare = Callable[[int, dict[str, Any]], Awaitable[Any]]
Send = Callable[[int, Any], Awaitable[Result]]
Fresh = Callable[[int, Any], Awaitable[bool]]


async def _as_is(chat_id: int, payload: dict[str, Any]) -> Any:
    return payload


async def _still_fresh(chat_id: int, prepared: Any) -> bool:
    return True


class Store(Protocol):
    async def enqueue(self, chat_id: int, payload: str, now: float) -> int: ...

    async def outbox(self) -> list[tuple[int, int, str]]: ...

    async def delivered(self, message_id: int) -> None: ...

    async def drop_chat(self, chat_id: int, now: float) -> None: ...

    async def blocked_chats(self) -> set[int]: ...

    async def unblock_chat(self, chat_id: int) -> None: ...


@dataclass(slots=True)
class _Item:
    id: int
    chat_id: int
    payload: dict[str, Any]
    tries: int = 0
    not_before: float = 0.0


class Outbox:
    """The paced queue; ``start`` runs its worker, ``put`` adds a message, ``idle`` waits for
    an empty queue."""

    def __init__(
        self,
        store: Store,
        send: Send,
        *,
        prepare: Prepare = _as_is,
        fresh: Fresh = _still_fresh,
        rate: float = RATE,
        per_chat: float = PER_CHAT,
        in_flight: int = IN_FLIGHT,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._send = send
        self._prepare = prepare
        self._fresh = fresh
        self._pace = asyncio.Lock()
        self._interval = 1.0 / rate
        self._per_chat = per_chat
        self._slots = asyncio.Semaphore(in_flight)
        self._clock = clock
        self._wall = wall
        self._queue: deque[_Item] = deque()
        self._chat_free: dict[int, float] = {}
        self._next = 0.0
        self._changed = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0
        self._blocked: set[int] = set()
        self._worker = Background(self._run, "notify-outbox")
        self._tasks: set[asyncio.Task[None]] = set()
        # Prepared ahead, by chat and payload: the preparation and when it goes stale (wall).
        self._ahead: dict[tuple[int, str], tuple[asyncio.Task[Any], float]] = {}
        # One preparation at a time: the chats of one account come together and share a chart.
        self._ahead_lock = asyncio.Lock()
        self._ahead_pruned = 0.0
        self.sent = 0
        self.prepared_ahead = 0

    async def start(self) -> None:
        """Load what a previous run left queued, and the chats that blocked the bot, and start
        sending."""
        self._blocked |= await self._store.blocked_chats()
        known = {item.id for item in self._queue}
        for message_id, chat_id, payload in await self._store.outbox():
            if message_id not in known:
                self._add(_Item(message_id, chat_id, json.loads(payload)))
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()
        ahead = [task for task, _stale in self._ahead.values()]
        self._ahead.clear()
        for task in [*self._tasks, *ahead]:
            task.cancel()
        await asyncio.gather(*self._tasks, *ahead, return_exceptions=True)

    async def prepare_ahead(self, chat_id: int, payload: dict[str, Any]) -> None:
        """Start preparing a message that will be ``put`` later with the same payload; returns
        at once. Beyond ``AHEAD_KEEP`` kept, it is prepared at the send, as any other."""
        now = self._wall()
        if now - self._ahead_pruned >= 60.0:
            self._ahead_pruned = now
            for key, (task, stale) in list(self._ahead.items()):
                if stale <= now:
                    task.cancel()
                    del self._ahead[key]
        key = _key(chat_id, payload)
        if key in self._ahead or len(self._ahead) >= AHEAD_KEEP:
            return
        task = asyncio.create_task(self._prepare_one(chat_id, payload))
        # A failure is seen (and the message prepared again) at the send, if it comes.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._ahead[key] = (task, now + AHEAD_TTL)

    async def ahead_ready(self) -> None:
        """Until what was given to ``prepare_ahead`` so far is prepared."""
        tasks = [task for task, _stale in self._ahead.values()]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _prepare_one(self, chat_id: int, payload: dict[str, Any]) -> Any:
        async with self._ahead_lock:
            return await self._prepare(chat_id, payload)

    async def _prepared(self, item: _Item) -> Any:
        """What was prepared ahead for this message, or it prepared now."""
        entry = self._ahead.pop(_key(item.chat_id, item.payload), None)
        if entry is not None:
            try:
                prepared = await asyncio.shield(entry[0])
            except Exception:
                log.warning("a notification prepared ahead failed; prepared again")
            else:
                if await self._fresh(item.chat_id, prepared):
                    self.prepared_ahead += 1
                    return prepared
        return await self._prepare(item.chat_id, item.payload)

    async def put(self, chat_id: int, payload: dict[str, Any]) -> None:
        """Queue a message: in the database at once, sent when the pace allows."""
        if chat_id in self._blocked:
            # Another replica's /notify may have unblocked it: the database says.
            if chat_id in await self._store.blocked_chats():
                return
            self._blocked.discard(chat_id)
        message_id = await self._store.enqueue(chat_id, json.dumps(payload), self._wall())
        if chat_id in self._blocked:
            # It blocked the bot while the row was being written.
            await self._store.delivered(message_id)
            return
        self._add(_Item(message_id, chat_id, payload))

    async def idle(self) -> None:
        """Until nothing is queued or in flight."""
        await self._idle.wait()

    def _add(self, item: _Item) -> None:
        self._queue.append(item)
        self._idle.clear()
        self._changed.set()

    def _pick(self, now: float) -> tuple[_Item | None, float]:
        """The oldest message whose chat may receive now, or how long until one may."""
        wait = float("inf")
        for item in self._queue:
            ready = max(self._chat_free.get(item.chat_id, 0.0), item.not_before)
            if ready <= now:
                self._queue.remove(item)
                return item, 0.0
            wait = min(wait, ready - now)
        return None, wait

    async def _run(self) -> None:
        while True:
            if not self._queue and not self._busy:
                self._idle.set()
            self._changed.clear()
            now = self._clock()
            item, wait = self._pick(now)
            if item is None:
                with contextlib.suppress(TimeoutError):
                    timeout = None if wait == float("inf") else wait
                    async with asyncio.timeout(timeout):
                        await self._changed.wait()
                continue
            await self._slots.acquire()
            # Not again before this one has gone (its send sets the time), or failed.
            self._chat_free[item.chat_id] = float("inf")
            self._busy += 1
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _turn(self, chat_id: int) -> None:
        """Wait for this send's turn: sends start at least 1/rate apart, measured from when each
        really began (a sleep can overshoot), in the order they asked, so no second ever holds
        more than ``rate`` of them."""
        async with self._pace:
            now = self._clock()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            start = self._clock()
            self._next = start + self._interval
            self._chat_free[chat_id] = start + self._per_chat
        self._changed.set()

    async def _deliver(self, item: _Item) -> None:
        try:
            try:
                prepared = await self._prepared(item)
                await self._turn(item.chat_id)
                result = await self._send(item.chat_id, prepared)
            except Exception:
                log.exception("could not send a notification to chat %s", item.chat_id)
                result = Result(Delivery.RETRY, RETRY_DELAY)
            await self._settle(item, result)
        finally:
            if self._chat_free.get(item.chat_id) == float("inf"):
                self._chat_free[item.chat_id] = self._clock()
            self._busy -= 1
            self._slots.release()
            self._changed.set()

    async def _settle(self, item: _Item, result: Result) -> None:
        if result.delivery is Delivery.SENT:
            self.sent += 1
            await self._store.delivered(item.id)
        elif result.delivery is Delivery.BLOCKED:
            log.info("chat %s blocked the bot: its notifications are switched off", item.chat_id)
            self._blocked.add(item.chat_id)
            self._queue = deque(i for i in self._queue if i.chat_id != item.chat_id)
            await self._store.drop_chat(item.chat_id, self._wall())
        elif result.delivery is Delivery.FAILED or item.tries + 1 >= MAX_TRIES:
            log.warning("notification to chat %s dropped (%s)", item.chat_id, result.delivery.value)
            await self._store.delivered(item.id)
        else:
            item.tries += 1
            delay = max(result.retry_after, RETRY_DELAY if not result.retry_after else 0.0)
            item.not_before = self._clock() + delay
            if result.retry_after:
                # Flood control is for the whole bot: nothing goes out before it ends.
                self._next = max(self._next, self._clock() + result.retry_after)
            self._queue.appendleft(item)

    async def unblock(self, chat_id: int) -> None:
        """The chat turned notifications on again (it talks to the bot, so it is not blocked)."""
        await self._store.unblock_chat(chat_id)
        self._blocked.discard(chat_id)


def _key(chat_id: int, payload: dict[str, Any]) -> tuple[int, str]:
    # As JSON: a payload read back from the database after a restart has lists for tuples.
    return chat_id, json.dumps(payload, sort_keys=True)
