"""Database statements and Redis commands per update, on PostgreSQL + Redis and on SQLite.

The real app from ``build_app`` gets /help and /balance through ``dp.feed_update``, one update at
a time, with an in-process Bot session (bench/latency.py's) and the SMSC emulator in this process
(latency 0, read cache as configured). Counted per update: every asyncpg call that goes to the
server (a prepared statement's PREPARE and its run are two), every SQL statement aiosqlite runs,
every Redis command or pipeline (a Lua script is one). Each chat's first update is not counted
(a replica that has not yet seen the chat's credentials work); the figures are the mean over the
next ``--count`` updates, and the statements of the last one are listed.

Run: .venv/bin/python bench/round_trips.py [--count 50] [--cache-ttl 0]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from cryptography.fernet import Fernet
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import command, make_bot  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.smsc import Site  # noqa: E402
from bot.smsc.emulator import SmscEmulator  # noqa: E402
from bot.storage.accounts import Account  # noqa: E402
from tests.support.servers import postgres_server, redis_server  # noqa: E402

TOKEN = "123456:BENCH-token-never-sent-anywhere-000"


class Trips:
    """What went to the servers since ``reset``: (kind, first words) in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def note(self, kind: str, what: object) -> None:
        self.seen.append((kind, " ".join(str(what).split())[:90]))

    @contextmanager
    def patched(self) -> Iterator[None]:
        """Count calls of asyncpg, aiosqlite and redis for as long as inside."""
        saved: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, kind: str, pick: Any) -> None:
            original = getattr(owner, name)
            saved.append((owner, name, original))

            async def counted(*args: Any, **kwargs: Any) -> Any:
                what = pick(args)
                if what is not None:
                    self.note(kind, what)
                return await original(*args, **kwargs)

            setattr(owner, name, counted)

        first = lambda args: args[1]  # noqa: E731 - (self, query, ...)
        # Where asyncpg's fetch/execute/fetchval/fetchrow with arguments all go; execute()
        # without arguments is a simple query of its own.
        for name in ("_execute", "_executemany", "prepare"):
            wrap(asyncpg.connection.Connection, name, "pg", first)
        wrap(
            asyncpg.connection.Connection,
            "execute",
            "pg",
            lambda args: args[1] if len(args) == 2 else None,
        )
        for name in ("fetch", "fetchval", "fetchrow", "executemany"):
            wrap(
                asyncpg.prepared_stmt.PreparedStatement,
                name,
                "pg",
                lambda args: "(prepared) " + args[0].get_query(),
            )
        wrap(
            aiosqlite.Connection,
            "_execute",
            "sqlite",
            lambda args: args[2] if len(args) > 2 else getattr(args[1], "__name__", "?"),
        )
        wrap(Redis, "execute_command", "redis", lambda args: " ".join(map(str, args[1:3])))
        wrap(Pipeline, "execute", "redis", lambda args: "pipeline")
        try:
            yield
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)


async def measure(name: str, settings: Settings, chats: list[int], count: int) -> None:
    app = await build_app(settings)
    try:
        for chat in chats:
            await app.accounts.repo.save(
                Account(
                    chat_id=chat,
                    site=Site.RU.value,
                    login=f"user{chat}",
                    auth_kind="password",
                    secret=f"Pw-{chat}-bench",
                    verified_at=datetime.now(UTC),
                )
            )
        bot, session = make_bot()
        trips = Trips()
        with trips.patched():
            for text in ("/help", "/balance"):
                for chat in chats:  # first sight of each chat, not counted
                    await app.dp.feed_update(bot, command(chat, text))
                totals: Counter[str] = Counter()
                last: list[tuple[str, str]] = []
                for n in range(count):
                    trips.seen.clear()
                    await app.dp.feed_update(bot, command(chats[n % len(chats)], text))
                    totals.update(kind for kind, _ in trips.seen)
                    last = list(trips.seen)
                means = ", ".join(f"{k} {v / count:.1f}" for k, v in sorted(totals.items()))
                print(f"{name}, {text}: per update {means or 'nothing'}")
                for kind, what in last:
                    print(f"    {kind:6} {what}")
        print(f"    (last reply: {session.texts[-1][:40]!r})")
    finally:
        await app.close()


async def main(args: argparse.Namespace) -> None:
    # Each chat stays well under SMSC's 10 balance requests a minute.
    chats = [20_000 + n for n in range(max(5, args.count // 2))]
    emulator = SmscEmulator(demo=False)
    for chat in chats:
        emulator.add_account(f"user{chat}", f"Pw-{chat}-bench")
    base = await emulator.start()
    try:
        with tempfile.TemporaryDirectory(prefix="round-trips-") as tmp:
            common: dict[str, Any] = {
                "_env_file": None,
                "bot_token": TOKEN,
                "smsc_api_url": base,
                "secret_key": Fernet.generate_key().decode(),
                "smsc_cache_ttl": args.cache_ttl,
            }
            sqlite = Settings(**common, data_dir=Path(tmp) / "sqlite")
            await measure("SQLite", sqlite, chats, args.count)
            servers = nullcontext() if args.sqlite_only else None
            if servers is None:
                with postgres_server() as pg, redis_server() as redis:
                    shared = Settings(
                        **common,
                        data_dir=Path(tmp) / "pg",
                        database_url=pg.url,
                        redis_url=redis.url,
                    )
                    await measure("PostgreSQL + Redis", shared, chats, args.count)
    finally:
        await emulator.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--cache-ttl", type=float, default=0.0)
    parser.add_argument("--sqlite-only", action="store_true")
    asyncio.run(main(parser.parse_args()))
