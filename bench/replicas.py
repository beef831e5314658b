"""Updates per second through the webhook: 1 and 2 replicas on PostgreSQL + Redis, 1 on SQLite.

Each side is real ``python -m bot`` processes in webhook mode, fed by this script as Telegram
would (POSTs with the secret header, round robin over the replicas), with a minimal Bot API
server here that answers every method at once and notes when each chat's reply arrives. SMSC is
the emulator in its own process, 20 ms added to every answer, one account per chat. PostgreSQL
and Redis are the real servers of the `servers` extra (tests/support/servers.py), on 127.0.0.1.

Workload: CHATS logged-in chats, each sending /help 4 x UPDATES times (no SMSC call), then /balance
UPDATES times, one after the other; CONCURRENCY chats at a time. The read cache is off, so every
/balance is one SMSC call. Latency is POST to the chat's reply; throughput is updates over the
whole timed run. Every chat sent one /help before timing. All sides run in the same invocation,
in turn.

Run: .venv/bin/python bench/replicas.py [--chats 200] [--updates 5] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.crypto import SecretBox  # noqa: E402
from bot.smsc.emulator import SmscEmulator  # noqa: E402
from bot.storage.accounts import Account, AccountRepo  # noqa: E402
from bot.storage.engine import connection_of, open_engine  # noqa: E402
from tests.support.replicas import WEBHOOK_SECRET, Replica  # noqa: E402
from tests.support.servers import free_port, postgres_server, redis_server  # noqa: E402

TOKEN = "123456:BENCH-token-for-the-replicas-bench"
LATENCY = 0.02
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


class FakeBotApi:
    """Answers every Bot API method at once; wakes whoever waits for a chat's next reply."""

    def __init__(self) -> None:
        self.replies: dict[int, int] = defaultdict(int)
        self.webhooks_set = 0
        self._webhook_set = asyncio.Event()
        self._waiters: dict[int, asyncio.Event] = {}
        self._ids = itertools.count(1)
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def webhooks(self, count: int) -> None:
        """Until ``count`` replicas in all have set the webhook (they serve from then on)."""
        async with asyncio.timeout(60):
            while self.webhooks_set < count:
                self._webhook_set.clear()
                await self._webhook_set.wait()

    def waiter(self, chat_id: int) -> asyncio.Event:
        event = self._waiters[chat_id] = asyncio.Event()
        return event

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params: Any = await request.post()
        result: Any = True
        if method == "getme":
            result = BOT_USER
        elif method == "setwebhook":
            # The last thing a replica does before it serves.
            self.webhooks_set += 1
            self._webhook_set.set()
        elif method in ("sendmessage", "editmessagetext"):
            chat_id = int(params["chat_id"])
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": str(params.get("text", "")),
            }
            self.replies[chat_id] += 1
            event = self._waiters.pop(chat_id, None)
            if event is not None:
                event.set()
        return web.json_response({"ok": True, "result": result})


def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "U"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "U", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (every process, other people's too)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` used so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def server_pids(port: int) -> list[int]:
    """The processes of the PostgreSQL or Redis server listening on ``port`` (with children)."""
    found, parents = [], {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                argv = cmd.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        # PostgreSQL's postmaster has the port among its arguments; redis-server rewrites its
        # title to "redis-server 127.0.0.1:<port>".
        listens = str(port).encode() in argv or argv[0].endswith(f":{port}".encode())
        if listens and any(b"postgres" in a or b"redis" in a for a in argv):
            found.append(int(entry))
    return found + [pid for pid, parent in parents.items() if parent in found]


@dataclass
class Cpu:
    """Where the CPU went during a timed run: (component, seconds), and the whole machine."""

    parts: dict[str, float]
    machine: float

    @classmethod
    def sample(cls, groups: dict[str, list[int]]) -> Cpu:
        return cls(
            {name: sum(process_cpu(p) for p in pids) for name, pids in groups.items()},
            machine_busy(),
        )

    def since(self, before: Cpu) -> Cpu:
        return Cpu(
            {name: value - before.parts.get(name, 0.0) for name, value in self.parts.items()},
            self.machine - before.machine,
        )


@dataclass
class Result:
    name: str
    command: str
    updates: int
    seconds: float
    latencies: list[float]
    cpu: Cpu | None = None

    def cpu_text(self) -> str:
        if self.cpu is None:
            return ""
        ours = sum(self.cpu.parts.values())
        parts = ", ".join(f"{k} {v / self.seconds:.2f}" for k, v in self.cpu.parts.items())
        return (
            f"cores busy: machine {self.cpu.machine / self.seconds:.2f} of {os.cpu_count()},"
            f" this run {ours / self.seconds:.2f} ({parts}),"
            f" others {(self.cpu.machine - ours) / self.seconds:.2f}"
        )

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def serve_smsc(port: int, accounts: int) -> None:
    emulator = SmscEmulator(latency=LATENCY, demo=False)
    for n in range(accounts):
        emulator.add_account(f"user{n}", f"Pw-{n}-bench")
    await emulator.start(port=port)
    print("ready", flush=True)
    await asyncio.Event().wait()


async def start_smsc(accounts: int) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-smsc",
        str(port),
        "--chats",
        str(accounts),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"ready"
    return process, f"http://127.0.0.1:{port}"


async def run_side(
    name: str,
    *,
    replicas: int,
    database_url: str | None,
    redis_url: str | None,
    api: FakeBotApi,
    smsc_url: str,
    args: argparse.Namespace,
    code: Path = ROOT,
) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        key = Fernet.generate_key().decode()
        box = SecretBox([key.encode()])
        database = await open_engine(database_url, Path(tmp), "smsc-bot.sqlite3")
        repo = AccountRepo(connection_of(database), box)
        chats = [10_000 + n for n in range(args.chats)]
        for n, chat in enumerate(chats):
            await repo.save(Account(chat, "smsc.ru", f"user{n}", "password", f"Pw-{n}-bench"))
        await database.close()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tmp,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.url,
            "SMSC_API_URL": smsc_url,
            "SMSC_CACHE_TTL": "0",
            "DATA_DIR": tmp,
            "SECRET_KEY": key,
            "LOG_LEVEL": "WARNING",
            "REPLICAS": str(replicas),
            "WEBHOOK_URL": "https://bench.example.org",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_HOST": "127.0.0.1",
        }
        if database_url:
            env["DATABASE_URL"] = database_url
        if redis_url:
            env["REDIS_URL"] = redis_url
        ports = [free_port() for _ in range(replicas)]
        if code != ROOT:
            env["PYTHONPATH"] = str(code)
        processes = [
            Replica(f"r{n}", {**env, "WEBHOOK_PORT": str(p)}, cwd=code) for n, p in enumerate(ports)
        ]
        try:
            for process in processes:
                # One at a time: the first one migrates the database.
                expected = api.webhooks_set + 1
                await process.start()
                await api.webhooks(expected)
            urls = [f"http://127.0.0.1:{p}/telegram/webhook" for p in ports]

            def groups() -> dict[str, list[int]]:
                found = {
                    "bot": [p.process.pid for p in processes if p.process is not None],
                    "bench": [os.getpid()],
                    **args.cpu_groups,
                }
                for kind, url in (("postgres", database_url), ("redis", redis_url)):
                    if url:
                        found[kind] = server_pids(int(url.rsplit(":", 1)[1].split("/")[0]))
                return found

            return await drive(name, urls, chats, api, args, groups)
        finally:
            for process in processes:
                if process.process is not None and process.process.returncode is None:
                    await process.kill()


async def drive(
    name: str,
    urls: list[str],
    chats: list[int],
    api: FakeBotApi,
    args: argparse.Namespace,
    groups: Callable[[], dict[str, list[int]]],
) -> list[Result]:
    ids = itertools.count(1)
    target = itertools.cycle(urls)
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    gate = asyncio.Semaphore(args.concurrency)
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(chat: int, text: str) -> float:
            event = api.waiter(chat)
            started = time.perf_counter()
            payload = update(next(ids), chat, text)
            async with http.post(next(target), json=payload, headers=headers) as response:
                assert response.status == 200, await response.text()
            async with asyncio.timeout(60):
                await event.wait()
            return time.perf_counter() - started

        async def chat_run(chat: int, texts: list[str], into: list[float] | None) -> None:
            async with gate:
                for text in texts:
                    took = await one(chat, text)
                    if into is not None:
                        into.append(took)

        # Warm-up: every chat once (its language and account read, connections opened).
        await asyncio.gather(*(chat_run(c, ["/help"], None) for c in chats))
        results = []
        # /help is cheap: four times as many, so that the run lasts seconds, not one.
        for command, count in (("/help", 4 * args.updates), ("/balance", args.updates)):
            latencies: list[float] = []
            # Looked up now: PostgreSQL starts a process for each connection, made by now.
            pids = groups()
            cpu = Cpu.sample(pids)
            started = time.perf_counter()
            await asyncio.gather(*(chat_run(c, [command] * count, latencies) for c in chats))
            seconds = time.perf_counter() - started
            used = Cpu.sample(pids).since(cpu)
            results.append(Result(name, command, len(latencies), seconds, latencies, used))
    return results


async def main(args: argparse.Namespace) -> None:
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.2f}; {args.chats} chats x {args.updates} /balance,"
        f" {args.concurrency} chats at a time, SMSC latency {LATENCY * 1000:.0f} ms"
    )
    smsc, smsc_url = await start_smsc(args.chats)
    args.cpu_groups = {"smsc": [smsc.pid]}
    api = FakeBotApi()
    await api.start()
    results: dict[tuple[str, str], Result] = {}
    try:
        with postgres_server() as pg, redis_server() as redis:
            sides: list[tuple[str, int, bool, Path]] = [
                ("SQLite, 1 process", 1, False, ROOT),
                ("PostgreSQL + Redis, 1 replica", 1, True, ROOT),
                ("PostgreSQL + Redis, 2 replicas", 2, True, ROOT),
            ]
            if args.baseline:
                sides.insert(0, ("SQLite, 1 process, baseline code", 1, False, args.baseline))
            for name, count, shared, code in sides:
                if args.sides and not any(word in name for word in args.sides.split(",")):
                    continue
                side = await run_side(
                    name,
                    replicas=count,
                    database_url=await fresh_pg(pg.url) if shared else None,
                    redis_url=redis.url if shared else None,
                    api=api,
                    smsc_url=smsc_url,
                    args=args,
                    code=code,
                )
                for result in side:
                    results[name, result.command] = result
                    print(
                        f"{name}, {result.command}: {result.rate:.0f} updates/s,"
                        f" p50 {result.pct(0.5):.1f} ms, p99 {result.pct(0.99):.1f} ms"
                        f" ({result.updates} updates in {result.seconds:.1f} s)",
                        flush=True,
                    )
                    print(f"    {result.cpu_text()}", flush=True)
    finally:
        await api.stop()
        smsc.kill()
        await smsc.wait()
    if args.sides:
        return
    for command in ("/help", "/balance"):
        one = results["PostgreSQL + Redis, 1 replica", command].rate
        two = results["PostgreSQL + Redis, 2 replicas", command].rate
        sqlite = results["SQLite, 1 process", command].rate
        verdict = "meets" if two / one >= 1.7 else "MISSES"
        print(f"{command}: 2 replicas / 1 = {two / one:.2f} (goal >= 1.7: {verdict});", end=" ")
        print(f"1 replica on PostgreSQL + Redis / SQLite = {one / sqlite:.2f}", end="")
        if args.baseline:
            base = results["SQLite, 1 process, baseline code", command].rate
            verdict = "meets" if sqlite / base >= 0.9 else "MISSES"
            print(f"; SQLite now / baseline = {sqlite / base:.2f} (goal >= 0.9: {verdict})", end="")
        print()


async def fresh_pg(url: str) -> str:
    import asyncpg

    name = "bench_" + secrets.token_hex(4)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of the code before (e.g. main) whose SQLite process is measured too",
    )
    parser.add_argument(
        "--sides", default="", help="only the sides whose name holds one of these, comma-separated"
    )
    parser.add_argument("--serve-smsc", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_smsc:
        asyncio.run(serve_smsc(arguments.serve_smsc, arguments.chats))
    else:
        asyncio.run(main(arguments))
