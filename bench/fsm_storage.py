"""Benchmark: SQLiteStorage beside aiogram's MemoryStorage, alone and under a real Dispatcher.

Run: .venv/bin/python bench/fsm_storage.py [--updates N] [--repeats R]

Prints (a) durable writes/s and cached reads/s of each storage and (b) the updates/s a Dispatcher
handles with each, one update at a time and 100 concurrent updates from different chats. The
handler is a wizard step without I/O (read the state, update the data, set the next state), so the
storage's share of the work is as large as it gets. The goal for (b) is SQLite ÷ Memory ≥ 0.8.
Every figure is the best of R runs, memory and SQLite runs taking turns, so that noise from other
processes hurts both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiogram
from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Chat, Message, Update, User

from bot.storage.fsm import SQLiteStorage

# Never used to reach Telegram: the handler sends nothing.
FAKE_TOKEN = "123456789:AAbenchmarkFakeTokenNeverSentAnywhere00"
CONCURRENCY = 100
CHATS = 1000


class Wizard(StatesGroup):
    name = State()
    phone = State()
    confirm = State()


STEPS = (Wizard.name, Wizard.phone, Wizard.confirm)


async def wizard_step(message: Message, state: FSMContext) -> None:
    """A typical wizard step: look at where the chat is, remember the answer, move on."""
    current = await state.get_state()
    index = next((i for i, step in enumerate(STEPS) if step.state == current), -1)
    answered = STEPS[index].state if index >= 0 else "start"
    await state.update_data({str(answered): message.text, "step": index + 1})
    await state.set_state(STEPS[(index + 1) % len(STEPS)])


def make_updates(count: int, first_id: int) -> list[Update]:
    now = datetime.now(tz=UTC)
    updates = []
    for n in range(count):
        chat_id = 10_000 + n % CHATS
        user = User(id=chat_id, is_bot=False, first_name="Bench")
        message = Message(
            message_id=first_id + n,
            date=now,
            chat=Chat(id=chat_id, type="private"),
            from_user=user,
            text=f"answer {n}",
        )
        updates.append(Update(update_id=first_id + n, message=message))
    return updates


async def feed_sequential(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    for update in updates:
        await dp.feed_update(bot, update)


async def feed_concurrent(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    # Each wave holds CONCURRENCY different chats, as a polling loop running handlers as tasks sees.
    for start in range(0, len(updates), CONCURRENCY):
        wave = updates[start : start + CONCURRENCY]
        await asyncio.gather(*(dp.feed_update(bot, update) for update in wave))


async def timed(action: Callable[[], Awaitable[None]], count: int) -> float:
    started = time.perf_counter()
    await action()
    return count / (time.perf_counter() - started)


async def storage_ops(storage: BaseStorage, ops: int) -> tuple[float, float, float]:
    keys = [StorageKey(bot_id=1, chat_id=c, user_id=c) for c in range(CHATS)]

    async def writes() -> None:
        for n in range(ops):
            key = keys[n % CHATS]
            if n % 2:
                await storage.set_state(key, STEPS[n % 3])
            else:
                await storage.set_data(key, {"step": n, "name": "Вика"})

    async def reads() -> None:
        for n in range(ops):
            key = keys[n % CHATS]
            if n % 2:
                await storage.get_state(key)
            else:
                await storage.get_data(key)

    async def concurrent_writes() -> None:
        # CONCURRENCY tasks writing at once, each to its own keys.
        async def writer(task: int) -> None:
            for n in range(task, ops, CONCURRENCY):
                await storage.set_state(keys[n % CHATS], STEPS[n % 3])

        await asyncio.gather(*(writer(task) for task in range(CONCURRENCY)))

    return (
        await timed(writes, ops),
        await timed(concurrent_writes, ops),
        await timed(reads, ops),
    )


def make_router() -> Router:
    # A fresh router per Dispatcher: aiogram lets a router be included in one parent only.
    router = Router(name="bench")
    router.message()(wizard_step)
    return router


async def dispatcher_rate(storage: BaseStorage, updates: list[Update], concurrent: bool) -> float:
    dp = Dispatcher(storage=storage)
    dp.include_router(make_router())
    bot = Bot(FAKE_TOKEN)
    feed = feed_concurrent if concurrent else feed_sequential
    try:
        await feed(dp, bot, updates[: len(updates) // 10])  # warm-up: caches, first imports
        rest = updates[len(updates) // 10 :]
        return await timed(lambda: feed(dp, bot, rest), len(rest))
    finally:
        await bot.session.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000, help="updates per dispatcher run")
    parser.add_argument("--ops", type=int, default=20000, help="storage calls per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (best is kept)")
    args = parser.parse_args()

    print(
        f"aiogram {aiogram.__version__}, SQLite {sqlite3.sqlite_version}, "
        f"Python {platform.python_version()}, {platform.machine()}"
    )
    with tempfile.TemporaryDirectory(prefix="fsm-bench-") as tmp:
        runs = 0

        async def sqlite_storage() -> SQLiteStorage:
            nonlocal runs
            runs += 1
            return await SQLiteStorage.open(Path(tmp) / f"run{runs}.db")

        best: dict[str, list[float]] = {}

        def keep(name: str, values: tuple[float, ...]) -> None:
            old = best.setdefault(name, [0.0] * len(values))
            best[name] = [max(a, b) for a, b in zip(old, values, strict=True)]

        for _ in range(args.repeats):
            memory = MemoryStorage()
            keep("ops memory", await storage_ops(memory, args.ops))
            sqlite = await sqlite_storage()
            keep("ops sqlite", await storage_ops(sqlite, args.ops))
            await sqlite.close()

            for concurrent in (False, True):
                mode = "concurrent" if concurrent else "sequential"
                updates = make_updates(args.updates, first_id=1)
                keep(
                    f"{mode} memory", (await dispatcher_rate(MemoryStorage(), updates, concurrent),)
                )
                sqlite = await sqlite_storage()
                updates = make_updates(args.updates, first_id=1)
                keep(f"{mode} sqlite", (await dispatcher_rate(sqlite, updates, concurrent),))
                await sqlite.close()

    print(f"\n(a) storage calls, {args.ops} per run, {CHATS} keys, best of {args.repeats}")
    print(f"{'':26}{'Memory':>12}{'SQLite':>12}{'SQLite/Memory':>16}")
    labels = ("writes/s (durable)", f"writes/s, {CONCURRENCY} tasks", "reads/s")
    for label, mem, sql in zip(labels, best["ops memory"], best["ops sqlite"], strict=True):
        print(f"{label:26}{mem:12,.0f}{sql:12,.0f}{sql / mem:16.3f}")
    print(f"\n(b) Dispatcher updates/s, {args.updates} updates per run, best of {args.repeats}")
    print(f"{'':26}{'Memory':>12}{'SQLite':>12}{'SQLite/Memory':>16}")
    for mode, label in (
        ("sequential", "one at a time"),
        ("concurrent", f"{CONCURRENCY} concurrent"),
    ):
        (mem,) = best[f"{mode} memory"]
        (sql,) = best[f"{mode} sqlite"]
        verdict = "ok" if sql / mem >= 0.8 else "BELOW GOAL 0.8"
        print(f"{label:26}{mem:12,.0f}{sql:12,.0f}{sql / mem:16.3f}  {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
