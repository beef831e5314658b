"""SMSC client overhead: calls per second through the client beside raw httpx POSTs.

Both sides send the same distinct read requests, four at a time (the client's per-login cap), to
one emulator running in its own process on 127.0.0.1, in alternating rounds; the figure is the
median round of each. Then: peak Python memory while iterating 2,000 and 10,000 black-list entries,
which must stay flat (the iterator holds one page, never the list).

Run: .venv/bin/python bench/smsc_client.py [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

from bot.smsc import Credentials, SmscConnector, SmscSettings
from bot.smsc.emulator import DEMO_LOGIN, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 4
GOAL = 0.9


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_up(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.get(f"{base}/sys/balance.php")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise SystemExit("the emulator did not start")


async def raw_round(http: httpx.AsyncClient, base: str, calls: int, tag: str) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            response = await http.post(
                f"{base}/sys/phones.php",
                data={
                    "get": "1",
                    "search": f"{tag}{i}",
                    "login": DEMO_LOGIN,
                    "psw": DEMO_PASSWORD,
                    "fmt": "3",
                    "charset": "utf-8",
                },
            )
            response.json()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return calls / (time.perf_counter() - started)


async def client_round(connector: SmscConnector, calls: int, tag: str) -> float:
    smsc = connector.client(Credentials.with_password(DEMO_LOGIN, DEMO_PASSWORD))
    started = time.perf_counter()
    await asyncio.gather(*(smsc.get_contacts(search=f"{tag}{i}") for i in range(calls)))
    return calls / (time.perf_counter() - started)


async def seed_black(http: httpx.AsyncClient, base: str, count: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await http.post(
                f"{base}/sys/phones.php",
                data={
                    "add_black": "1",
                    "phone": f"7955{i:07d}",
                    "login": DEMO_LOGIN,
                    "psw": DEMO_PASSWORD,
                    "fmt": "3",
                },
            )

    await asyncio.gather(*(one(i) for i in range(count)))


async def iteration_peak(connector: SmscConnector, limit: int) -> tuple[int, int]:
    """Entries seen and peak traced memory (bytes) while walking ``limit`` entries."""
    smsc = connector.client(Credentials.with_password(DEMO_LOGIN, DEMO_PASSWORD))
    tracemalloc.start()
    tracemalloc.reset_peak()
    seen = 0
    async for _entry in smsc.iter_black():
        seen += 1
        if seen >= limit:
            break
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seen, peak


async def main(calls: int, rounds: int) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, "-m", "bot.smsc.emulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_up(base)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits) as http:
            connector = SmscConnector(SmscSettings(api_url=base), http=http)
            await raw_round(http, base, calls // 4, "warm-")
            raws: list[float] = []
            vias: list[float] = []
            for r in range(rounds):
                # Alternate which side goes first, so drift in the emulator favours neither.
                if r % 2:
                    via = await client_round(connector, calls, f"cli{r}-")
                    raw = await raw_round(http, base, calls, f"raw{r}-")
                else:
                    raw = await raw_round(http, base, calls, f"raw{r}-")
                    via = await client_round(connector, calls, f"cli{r}-")
                raws.append(raw)
                vias.append(via)
                print(f"round {r + 1}: raw httpx {raw:8.0f} calls/s   client {via:8.0f} calls/s")
            raw_mid, via_mid = statistics.median(raws), statistics.median(vias)
            ratio = via_mid / raw_mid
            verdict = "meets" if ratio >= GOAL else "MISSES"
            print(f"median: raw httpx {raw_mid:.0f} calls/s, client {via_mid:.0f} calls/s")
            print(f"ratio client / raw = {ratio:.3f} (goal >= {GOAL}: {verdict})")

            await seed_black(http, base, 10_000)
            small = await iteration_peak(connector, 2_000)
            large = await iteration_peak(connector, 10_000)
            print(
                f"iter_black: {small[0]} entries peak {small[1] / 1024:.0f} KiB, "
                f"{large[0]} entries peak {large[1] / 1024:.0f} KiB "
                f"(growth x{large[1] / small[1]:.2f} for x{large[0] / small[0]:.0f} entries)"
            )
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
