"""Bulk black-list adds through the bot: 1,000 numbers in a .txt file, 50 ms per SMSC request.

The real app from ``build_app`` polls the fake Telegram Bot API server (tests/support/botapi/),
both in this process; SMSC is the emulator, in this process too so that its count of concurrent
requests per login can be read, with ``latency`` seconds added to every request. A user logs in,
then sends the file with the caption /black; the figure is the time from sending it to the
summary on screen (the black-list check before adding, every add, the progress edits and the
summary are all inside it).

Ideal: numbers × latency ÷ the client's per-login cap (4), what the adds alone cost when the cap
is always full. Goal: time ÷ ideal ≤ 1.3, and the emulator never sees more than 4 requests of the
login at once. Peer, same run and emulator: the same number of ``add_black`` calls straight
through ``SmscClient`` with ``asyncio.gather`` (no bot), which the cap also paces.

Run: .venv/bin/python bench/bulk_black.py [--numbers 1000] [--latency 0.05] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.smsc import Credentials, SmscConnector, SmscSettings  # noqa: E402
from bot.smsc.emulator import SmscEmulator  # noqa: E402
from tests.support.botapi import FakeTelegram  # noqa: E402

TOKEN = "123456:BENCH-token-never-sent-anywhere-000"
LOGIN = "bulk"
PASSWORD = "Bulk-Bench-Password-1"
CAP = 4
GOAL = 1.3


async def through_bot(
    telegram: FakeTelegram, emulator: SmscEmulator, data_dir: Path, numbers: list[str]
) -> tuple[float, int]:
    """Seconds from sending the file to the summary, and how many progress edits there were."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        telegram_api_url=telegram.base_url,
        smsc_api_url=emulator.base_url,
        data_dir=data_dir,
        secret_key=Fernet.generate_key().decode(),
        smsc_max_concurrency=CAP,
    )
    app = await build_app(settings)
    try:
        async with telegram.polling(app.dp, app.bot, handle_as_tasks=True):
            user = telegram.user(len(telegram.requests) + 1)
            await user.send(f"/login {LOGIN} {PASSWORD}")
            await user.expect_message(timeout=30)
            content = "\n".join(numbers).encode()
            started = time.perf_counter()
            await user.send_document("numbers.txt", content, caption="/black")
            progress = await user.expect_message(timeout=60)
            edits = 0
            text = progress.text or ""
            while "done." not in text:
                text = (await user.expect_edit(timeout=60)).text or ""
                edits += 1
            elapsed = time.perf_counter() - started
            if f"{len(numbers):,} numbers added" not in text:
                raise SystemExit(f"unexpected summary: {text!r}")
    finally:
        await app.close()
    return elapsed, edits - 1


async def through_client(emulator: SmscEmulator, numbers: list[str]) -> float:
    connector = SmscConnector(SmscSettings(api_url=emulator.base_url, max_concurrency=CAP))
    try:
        smsc = connector.client(Credentials.with_password(LOGIN, PASSWORD))
        started = time.perf_counter()
        await asyncio.gather(*(smsc.add_black(n) for n in numbers))
        return time.perf_counter() - started
    finally:
        await connector.aclose()


async def main(count: int, latency: float, rounds: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    ideal = count * latency / CAP
    bot_times: list[float] = []
    client_times: list[float] = []
    peak = 0
    progress_edits: list[int] = []
    async with FakeTelegram(token=TOKEN) as telegram, SmscEmulator(latency=latency) as emulator:
        account = emulator.add_account(LOGIN, PASSWORD)
        with tempfile.TemporaryDirectory(prefix="bulk-black-") as tmp:
            for round_no in range(rounds):
                base = 79_000_000_000 + round_no * 2 * count
                account.black.clear()
                emulator.max_in_flight.clear()
                emulator.reset_limits()
                elapsed, edits = await through_bot(
                    telegram,
                    emulator,
                    Path(tmp) / f"round{round_no}",
                    [f"+{base + i}" for i in range(count)],
                )
                peak = max(peak, emulator.max_in_flight.get(LOGIN, 0))
                bot_times.append(elapsed)
                progress_edits.append(edits)
                assert len(account.black) == count, len(account.black)
                account.black.clear()
                emulator.max_in_flight.clear()
                client_times.append(
                    await through_client(emulator, [str(base + count + i) for i in range(count)])
                )
                peak = max(peak, emulator.max_in_flight.get(LOGIN, 0))
                print(
                    f"round {round_no + 1}: bot {elapsed:.2f} s ({edits} progress edits), "
                    f"client alone {client_times[-1]:.2f} s",
                    flush=True,
                )
    bot = statistics.median(bot_times)
    client = statistics.median(client_times)
    ratio = bot / ideal
    print(f"{datetime.now(UTC):%Y-%m-%d} {platform.python_version()}")
    print(f"numbers {count}, latency {latency * 1000:.0f} ms, cap {CAP}: ideal {ideal:.2f} s")
    print(f"through the bot (median of {rounds}): {bot:.2f} s → time ÷ ideal = {ratio:.2f}")
    print(f"client alone (median of {rounds}): {client:.2f} s → {client / ideal:.2f}")
    print(f"progress edits per run: {progress_edits}")
    print(f"most concurrent requests the emulator saw for the login: {peak}")
    # A missed goal is a figure to read, not a broken benchmark (scripts/bench): exit 0 either way.
    print(f"goal: time ÷ ideal ≤ {GOAL}:", "meets" if ratio <= GOAL else "MISSES")
    print(f"goal: at most {CAP} concurrent requests:", "meets" if peak <= CAP else "MISSES")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.numbers, args.latency, args.rounds))
