"""Notifications: what polling costs SMSC, and how fast notifications leave.

1. SMSC requests per account per hour at the default interval (``NOTIFY_POLL_SECONDS`` = 600)
   with 1, 10 and 100 chats following one SMSC account, each with a low-balance threshold,
   sender-name statuses and a daily digest switched on. The real ``Notifier`` (SQLite, the
   ``AccountService``, the SMSC client with its limits and failed-authorisation budget) polls
   the emulator over HTTP; a simulated clock runs 24 hours, the loop advancing it to each
   moment ``tick`` says is next. Goal: the same figure for 1, 10 and 100 chats, at most 7.
2. Delivery rate of 1,000 digests to 1,000 chats through the application's own send path
   (``build_app``: rendering, the chart drawn on the charts thread, the Bot session's
   middlewares) to the fake Bot API as photos with a caption, paced by the outbox; the chats
   following 1, 100 or 1,000 accounts (one chart per account and language is drawn). Goal:
   within 10 % of Telegram's 30 messages a second, never above (no second of the fake
   server's arrivals holds more than 30).

Run: .venv/bin/python bench/notify.py [--digests 1000] [--hours 24]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.accounts import AccountService  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.crypto import SecretBox  # noqa: E402
from bot.services.notify import DAILY, Figures, Notifier  # noqa: E402
from bot.services.outbox import Delivery, Outbox, Result  # noqa: E402
from bot.services.stats import Trends  # noqa: E402
from bot.smsc import SmscConnector, SmscSettings  # noqa: E402
from bot.smsc.budget import AuthBudget  # noqa: E402
from bot.smsc.emulator import SmscEmulator  # noqa: E402
from bot.smsc.emulator.state import LedgerEntry, Sender, Subclient  # noqa: E402
from bot.storage.accounts import Account, AccountRepo  # noqa: E402
from bot.storage.budget import SqliteBudgetStore  # noqa: E402
from bot.storage.db import open_database  # noqa: E402
from bot.storage.notify import NotifyRepo  # noqa: E402
from bot.storage.stats import StatFigures  # noqa: E402
from tests.support.botapi import FakeTelegram  # noqa: E402

LOGIN, PASSWORD = "bench", "Bench-Passw0rd-1"
START = datetime(2026, 3, 2, 0, 0, 7, tzinfo=UTC).timestamp()


class SimClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def seed(emulator: SmscEmulator) -> None:
    account = emulator.add_account(LOGIN, PASSWORD, balance=Decimal("5000"))
    for n in range(3):
        sender = Sender(account.new_id("sender"), f"Shop{n}", 1)
        account.senders[sender.id] = sender
    for n in range(5):
        sub = Subclient(account.new_id("user"), f"client{n}", "Passw0rd-x")
        sub.ledger.append(LedgerEntry(date(2026, 3, 1), "SMS", sms=10 * n, credit=Decimal(n)))
        account.subclients[sub.login] = sub


async def polling(chats: int, hours: int, tmp: Path) -> Counter[str]:
    """SMSC requests by script over ``hours`` simulated hours with ``chats`` following."""
    clock = SimClock(START)
    emulator = SmscEmulator(clock=clock, demo=False)
    seed(emulator)
    url = await emulator.start()
    db = await open_database(tmp / f"poll-{chats}.sqlite3")
    box = SecretBox([Fernet.generate_key().decode()])
    budget = AuthBudget(SqliteBudgetStore(db), box.derive_key("auth-budget"), clock=clock)
    connector = SmscConnector(SmscSettings(api_url=url), clock=clock, budget=budget)
    repo = AccountRepo(db, box)
    accounts = AccountService(repo, connector)
    notify_repo = NotifyRepo(db)

    async def sent(chat_id: int, payload: dict[str, Any]) -> Result:
        return Result(Delivery.SENT)

    outbox = Outbox(notify_repo, sent)
    await outbox.start()
    # The day series' "today" follows the simulated clock, as the bot's follows the real one.
    trends = Trends(StatFigures(db), today=lambda: datetime.fromtimestamp(clock(), UTC).date())
    notifier = Notifier(notify_repo, accounts, outbox, poll_seconds=600, trends=trends, clock=clock)
    for chat_id in range(1, chats + 1):
        account = Account(chat_id, "smsc.ru", LOGIN, "password", PASSWORD)
        await repo.save(account)
        await notifier.change(chat_id, account, "balance", True, param="100.00")
        await notifier.change(chat_id, account, "senders", True)
        await notifier.change(chat_id, account, "digest", True, param=DAILY, at_minute=9 * 60)
    since = len(emulator.requests)
    end = START + hours * 3600
    while clock.now < end:
        clock.now = min(max(await notifier.tick(), clock.now + 1), end)
    await notifier.tick()
    await outbox.idle()
    await outbox.stop()
    counts = Counter(r.path.rsplit("/", 1)[-1] for r in emulator.requests[since:])
    await connector.aclose()
    await db.close()
    await emulator.stop()
    return counts


def digest_payload(n: int, account: int) -> dict[str, Any]:
    """Chat ``n``'s digest of ``account``: the chats of one account share its chart."""
    week = [date(2026, 2, 23) + timedelta(days=d) for d in range(7)]
    days = [(d.isoformat(), 100 + account + d.day, f"{40 + account % 97 + d.day}.50") for d in week]
    figures = Figures(
        sms=1200 + n,
        spent="3456.70",
        currency="RUB",
        top=[("shop", 900, "2500.00")],
        subclients=4,
        own=True,
        days=days,
    )
    return {
        "kind": "digest",
        "period": DAILY,
        "start": "2026-03-01",
        "end": "2026-03-01",
        "figures": figures.__dict__,
        "previous": {"sms": 1100, "spent": "3000.00"},
        "late": False,
        "login": LOGIN,
    }


async def delivery(count: int, accounts: int, tmp: Path) -> tuple[float, int]:
    """Messages a second over ``count`` digests of ``accounts`` accounts (a chart each), and the
    most the fake server got in a second."""
    async with FakeTelegram("123456789:" + "A" * 35) as telegram:
        for chat_id in range(1, count + 1):
            telegram.user(10_000 + chat_id)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=telegram.token,
            telegram_api_url=telegram.base_url,
            data_dir=tmp / f"delivery-{accounts}",
            secret_key=Fernet.generate_key().decode(),
        )
        app = await build_app(settings)
        outbox = app.notifier.outbox
        try:
            for chat_id in range(1, count + 1):
                # A round queues the digests of one account together, its chats one after another.
                account = (chat_id - 1) * accounts // count
                await outbox.put(10_000 + chat_id, digest_payload(chat_id, account))
            since = len(telegram.requests)
            loop = asyncio.get_running_loop()
            began = loop.time()
            await outbox.start()
            await outbox.idle()
            elapsed = loop.time() - began
        finally:
            await outbox.stop()
            await app.close()
        arrivals = sorted(
            r.received_at
            for r in telegram.requests[since:]
            if r.method in ("sendMessage", "sendPhoto")
        )
        photos = sum(1 for r in telegram.requests[since:] if r.method == "sendPhoto")
        assert len(arrivals) == count, f"{len(arrivals)} of {count} arrived"
        assert photos == count, f"{photos} of {count} as photos"
        busiest, j = 0, 0
        for i, at in enumerate(arrivals):
            while arrivals[j] <= at - 1.0:
                j += 1
            busiest = max(busiest, i - j + 1)
        return count / elapsed, busiest


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--digests", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"python {platform.python_version()}, {platform.machine()}, {datetime.now(UTC):%F}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\nSMSC requests per account, {args.hours} simulated hours, interval 600 s")
        print("chats  balance/h  senders/h  polls/h  digest reads/day")
        for chats in (1, 10, 100):
            counts = await polling(chats, args.hours, Path(tmp))
            per_hour = {k: v / args.hours for k, v in counts.items()}
            polls = per_hour.get("balance.php", 0) + per_hour.get("senders.php", 0)
            digest = (counts.get("users.php", 0) + counts.get("get.php", 0)) * 24 / args.hours
            print(
                f"{chats:5}  {per_hour.get('balance.php', 0):9.2f}  "
                f"{per_hour.get('senders.php', 0):9.2f}  {polls:7.2f}  {digest:16.1f}"
            )
        print(f"\n{args.digests} digests as photos with a caption")
        print("accounts  messages/s  busiest second")
        for accounts in (1, args.digests // 10, args.digests):
            rate, busiest = await delivery(args.digests, accounts, Path(tmp))
            print(f"{accounts:8}  {rate:10.1f}  {busiest:14}")


if __name__ == "__main__":
    asyncio.run(main())
