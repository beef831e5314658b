"""Bot-added latency, update in to reply out: /help (no SMSC call) and /balance (one), p50 and p99.

The real app from ``build_app`` (update journal, allow-list, locale, error layer and account
middlewares, SQLite FSM storage, handlers) gets each update straight through
``dp.feed_update``. Its Bot's session is an in-process fake that notes the moment the reply is
handed to it and answers at once, so no Telegram networking is measured. SMSC is the emulator in
its own process with latency 0 and the read cache off, so every /balance makes one real HTTP call;
the emulator's own answer time is inside the /balance figures.

Peer, same run, same fake session and emulator: a bare aiogram Dispatcher with MemoryStorage and no
middlewares, whose /help answers the same text and whose /balance makes one raw httpx POST. The
gap between the two is what the bot's own layers cost.

Updates go one at a time, sides and commands taking turns by rounds. Every chat was seen once
before timing (its language is cached, as for any chat that is using the bot).

Run: .venv/bin/python bench/latency.py [--count 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.filters import Command
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update, User
from cryptography.fernet import Fernet

from bot.app import App, build_app
from bot.config import Settings
from bot.logs import setup_logging
from bot.middlewares import RetryAfterMiddleware
from bot.smsc import Site
from bot.smsc.emulator import SmscEmulator
from bot.storage.accounts import Account
from handlers.start import help_text

# Matches BOT_TOKEN's shape; never sent anywhere: the session below has no network.
TOKEN = "123456:BENCH-token-never-sent-anywhere-000"
GOAL_P50_MS = 2.0
GOAL_P99_MS = 10.0
# The client allows 10 balance calls a minute per login (SMSC's own limit), so each chat makes
# at most this many, and the chats are spread over enough logins.
BALANCE_PER_CHAT = 4
OURS_FIRST_CHAT = 100_000
PEER_FIRST_CHAT = 500_000


def login_of(chat_id: int) -> str:
    return f"bench{chat_id}"


def password_of(chat_id: int) -> str:
    return f"pw-{chat_id}-bench-secret"


class ReplyClock(BaseSession):
    """A Bot session that records when a reply is handed to it and answers at once."""

    def __init__(self) -> None:
        super().__init__()
        self.replied_at: float | None = None
        self.texts: list[str] = []
        self._ids = itertools.count(1)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class's signature
    ) -> Any:
        self.replied_at = time.perf_counter()
        if not isinstance(method, SendMessage):
            raise RuntimeError(f"the benchmark expects only sendMessage, got {method}")
        self.texts.append(method.text)
        return Message(
            message_id=next(self._ids),
            date=datetime.now(UTC),
            chat=Chat(id=int(method.chat_id), type="private"),
            text=method.text,
        )

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - the base class's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""  # pragma: no cover - makes this an async generator, as the base class declares

    async def close(self) -> None:
        pass


def make_bot() -> tuple[Bot, ReplyClock]:
    session = ReplyClock()
    session.middleware(RetryAfterMiddleware())  # as bot.app.make_bot does
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    return bot, session


_update_ids = itertools.count(1)


def command(chat_id: int, text: str) -> Update:
    user = User(id=chat_id, is_bot=False, first_name="Bench", language_code="en")
    update_id = next(_update_ids)
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=chat_id, type="private"),
        from_user=user,
        text=text,
    )
    return Update(update_id=update_id, message=message)


class SmscWait:
    """Time each update spent waiting for SMSC: from httpx handing a request to its transport to
    the response headers coming back (the emulator's own work, loopback, httpcore's socket I/O)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._sent: dict[int, float] = {}

    def attach(self, http: httpx.AsyncClient) -> None:
        http.event_hooks = {"request": [self._request], "response": [self._response]}

    async def _request(self, request: httpx.Request) -> None:
        self._sent[id(request)] = time.perf_counter()

    async def _response(self, response: httpx.Response) -> None:
        self.total += time.perf_counter() - self._sent.pop(id(response.request))


@dataclass
class Side:
    name: str
    dp: Dispatcher
    bot: Bot
    session: ReplyClock
    chats: list[int]
    smsc: SmscWait
    samples: dict[str, list[float]] = field(default_factory=dict)
    # Update in to reply out, less the time spent waiting for SMSC.
    added: dict[str, list[float]] = field(default_factory=dict)

    async def one(self, chat_id: int, text: str, expect: str) -> tuple[float, float]:
        update = command(chat_id, text)
        self.session.replied_at = None
        self.smsc.total = 0.0
        replies = len(self.session.texts)
        started = time.perf_counter()
        await self.dp.feed_update(self.bot, update)
        if self.session.replied_at is None or len(self.session.texts) != replies + 1:
            raise SystemExit(f"{self.name}: {text} got {len(self.session.texts) - replies} replies")
        if expect not in self.session.texts[-1]:
            raise SystemExit(f"{self.name}: {text} answered {self.session.texts[-1]!r}")
        total = self.session.replied_at - started
        return total, total - self.smsc.total

    async def batch(self, text: str, expect: str, count: int, offset: int) -> None:
        samples = self.samples.setdefault(text, [])
        added = self.added.setdefault(text, [])
        for n in range(offset, offset + count):
            total, own = await self.one(self.chats[n % len(self.chats)], text, expect)
            samples.append(total)
            added.append(own)


def peer_dispatcher(base: str, http: httpx.AsyncClient, help_reply: str) -> Dispatcher:
    router = Router(name="peer")

    @router.message(Command("help"))
    async def peer_help(message: Message) -> None:
        await message.answer(help_reply)

    @router.message(Command("balance"))
    async def peer_balance(message: Message) -> None:
        chat_id = message.chat.id
        response = await http.post(
            f"{base}/sys/balance.php",
            data={
                "login": login_of(chat_id),
                "psw": password_of(chat_id),
                "fmt": "3",
                "charset": "utf-8",
            },
        )
        await message.answer(f"Balance: <b>{response.json()['balance']} RUB</b>")

    dp = Dispatcher(storage=MemoryStorage())
    dp.include_router(router)
    return dp


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def start_emulator(chats: list[int]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, __file__, "--serve-emulator", ",".join(map(str, chats))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = await asyncio.to_thread(process.stdout.readline)
    if not line.startswith("http://"):
        process.kill()
        raise SystemExit("the SMSC emulator did not start")
    return process, line.strip()


async def serve_emulator(chats: str) -> None:
    emulator = SmscEmulator(demo=False)
    for chat_id in map(int, chats.split(",")):
        emulator.add_account(login_of(chat_id), password_of(chat_id))
    print(await emulator.start(), flush=True)
    await asyncio.Event().wait()


async def main(count: int, rounds: int) -> None:
    chat_count = math.ceil(count / BALANCE_PER_CHAT)
    ours_chats = list(range(OURS_FIRST_CHAT, OURS_FIRST_CHAT + chat_count))
    peer_chats = list(range(PEER_FIRST_CHAT, PEER_FIRST_CHAT + chat_count))
    emulator, base = await start_emulator(ours_chats + peer_chats)
    app: App | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="latency-bench-") as tmp:
            settings = Settings(
                _env_file=None,
                bot_token=TOKEN,
                smsc_api_url=base,
                data_dir=Path(tmp),
                secret_key=Fernet.generate_key().decode(),
                smsc_cache_ttl=0,  # every /balance reaches SMSC
            )
            app = await build_app(settings)
            for chat_id in ours_chats:
                await app.accounts.repo.save(
                    Account(
                        chat_id=chat_id,
                        site=Site.RU.value,
                        login=login_of(chat_id),
                        auth_kind="password",
                        secret=password_of(chat_id),
                        verified_at=datetime.now(UTC),
                    )
                )
            with app.i18n.context(), app.i18n.use_locale("en"):
                help_reply = help_text()

            ours_bot, ours_session = make_bot()
            peer_bot, peer_session = make_bot()
            async with httpx.AsyncClient() as http:
                ours_wait, peer_wait = SmscWait(), SmscWait()
                ours_wait.attach(app.connector.http)
                peer_wait.attach(http)
                peer_dp = peer_dispatcher(base, http, help_reply)
                ours = Side("ours", app.dp, ours_bot, ours_session, ours_chats, ours_wait)
                peer = Side("peer", peer_dp, peer_bot, peer_session, peer_chats, peer_wait)
                for side in (ours, peer):
                    # Warm-up: every chat once (language, imports, connections, caches).
                    await side.batch("/help", "/balance", chat_count, 0)
                    side.samples.clear()
                    side.added.clear()
                per_round = math.ceil(count / rounds)
                for r in range(rounds):
                    # Alternate who goes first, so drift favours neither side.
                    order = (ours, peer) if r % 2 == 0 else (peer, ours)
                    for side in order:
                        await side.batch("/help", "/balance", per_round, r * per_round)
                        await side.batch("/balance", "Balance", per_round, r * per_round)
            await ours_bot.session.close()
            await peer_bot.session.close()
            await app.close()
            app = None
    finally:
        if app is not None:
            await app.close()
        emulator.terminate()
        emulator.wait(timeout=10)

    report(ours, peer)


def row(label: str, seconds: list[float], verdict: str = "") -> str:
    ms = [s * 1000 for s in seconds]
    p50, p99 = percentile(ms, 0.50), percentile(ms, 0.99)
    return f"{label:38}{p50:8.2f}{p99:8.2f}{statistics.fmean(ms):8.2f}{max(ms):8.2f}   {verdict}"


def meets(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    ok = percentile(ms, 0.50) <= GOAL_P50_MS and percentile(ms, 0.99) <= GOAL_P99_MS
    return "meets" if ok else "MISSES"


def report(ours: Side, peer: Side) -> None:
    print(
        f"Python {platform.python_version()}, {len(ours.samples['/help'])} updates per command "
        f"per side; goal for the bot's added latency: p50 <= {GOAL_P50_MS:g} ms, "
        f"p99 <= {GOAL_P99_MS:g} ms"
    )
    print(f"{'':38}{'p50 ms':>8}{'p99 ms':>8}{'mean ms':>8}{'max ms':>8}   goal")
    print(row("/help    bot", ours.samples["/help"], meets(ours.samples["/help"])))
    print(row("/help    bare aiogram", peer.samples["/help"]))
    print(
        row(
            "/balance bot, added (less SMSC wait)",
            ours.added["/balance"],
            meets(ours.added["/balance"]),
        )
    )
    print(row("/balance bare aiogram, added", peer.added["/balance"]))
    print(row("/balance bot, total", ours.samples["/balance"]))
    print(row("/balance bare aiogram, total", peer.samples["/balance"]))
    waits = [t - a for t, a in zip(ours.samples["/balance"], ours.added["/balance"], strict=True)]
    print(row("/balance SMSC wait (bot's calls)", waits))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="updates per command per side")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve-emulator", metavar="CHATS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        asyncio.run(serve_emulator(args.serve_emulator))
    else:
        # As production logs (LOG_LEVEL=INFO, secrets masked), so that cost is in the figures:
        # aiogram logs a line per update. The lines go to /dev/null rather than the terminal.
        setup_logging("INFO", [TOKEN])
        devnull = open(os.devnull, "w")  # noqa: SIM115 - open until the process ends
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
        asyncio.run(main(args.count, args.rounds))
