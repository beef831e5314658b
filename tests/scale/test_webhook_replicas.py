"""Three bot processes behind one webhook on PostgreSQL and Redis, one SMSC emulator counting."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.crypto import SecretBox
from bot.smsc.emulator import SmscEmulator
from bot.storage.accounts import Account, AccountRepo
from bot.storage.engine import PostgresDatabase, connection_of
from tests.conftest import APIKEY, LOGIN, PASSWORD, closed_port
from tests.e2e.helpers import seed_subclient
from tests.support.botapi import FakeTelegram
from tests.support.fixtures import TEST_TOKEN
from tests.support.replicas import WEBHOOK_SECRET, Replica, Webhook
from tests.support.servers import Redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REPLICAS = 3


@pytest.fixture
async def smsc() -> AsyncIterator[SmscEmulator]:
    emulator = SmscEmulator()
    emulator.add_account(LOGIN, PASSWORD)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def fleet(
    fake_telegram: FakeTelegram, smsc: SmscEmulator, pg_url: str, redis: Redis, tmp_path: Path
) -> AsyncIterator[tuple[Webhook, list[Replica]]]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": fake_telegram.base_url,
        "SMSC_API_URL": smsc.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis.url,
        "REPLICAS": str(REPLICAS),
        "WEBHOOK_URL": "https://bot.example.org",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
    }
    ports = [closed_port() for _ in range(REPLICAS)]
    replicas = [
        Replica(f"r{n}", {**base, "WEBHOOK_PORT": str(port)}) for n, port in enumerate(ports)
    ]
    try:
        # One after the other: the first migrates the database.
        for replica in replicas:
            await replica.start()
            await replica.wait_for_line("webhook server on", within=60)
        async with aiohttp.ClientSession() as http:
            urls = [f"http://127.0.0.1:{p}/telegram/webhook" for p in ports]
            yield Webhook(fake_telegram, urls, http), replicas
    finally:
        for replica in replicas:
            if replica.process is not None and replica.process.returncode is None:
                await replica.kill()


def payments(smsc: SmscEmulator) -> list[dict[str, str]]:
    return [dict(r.params) for r in smsc.requests if r.params.get("pay") == "1"]


async def test_a_conversation_spread_over_replicas_and_a_yes_tapped_on_two_pays_once(
    fleet: tuple[Webhook, list[Replica]], fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    webhook, replicas = fleet
    sub = seed_subclient(smsc.accounts[LOGIN], "shop")
    user = fake_telegram.user(5001, language_code="en")
    # Each step of the log-in wizard lands on the next replica.
    await user.send("/login")
    await webhook.deliver()
    await user.press(await user.expect_message(), "smsc.ru")
    await webhook.deliver()
    await user.press(await user.expect_edit(), "Login and password")
    await webhook.deliver()
    await user.expect_edit()
    await user.send(LOGIN)
    await webhook.deliver()
    assert "password" in (await user.expect_message()).text
    sent = await user.send(PASSWORD)
    await webhook.deliver()
    await user.expect_deleted(sent["message_id"])
    assert LOGIN in (await user.expect_message()).text

    # kill -9 of the replica that took the password (the 5th update, round robin from 0):
    # the others carry on with the saved log-in, and the load balancer skips it.
    await replicas[1].kill()
    webhook.down.add(1)
    await user.send("/subclients")
    await webhook.deliver()
    await user.press(await user.expect_message(), "shop")
    await webhook.deliver()
    await user.press(await user.expect_edit(), "Top up")
    await webhook.deliver()
    await user.expect_message()
    await user.send("100")
    await webhook.deliver()
    question = await user.expect_message()
    yes = question.button("Yes, top up").callback_data
    assert yes is not None
    # Two taps of one Yes (a double tap, or two people), at once, on two replicas.
    since = len(fake_telegram.requests)
    ids = {
        await user.press_data(question.message_id, yes),
        await user.press_data(question.message_id, yes),
    }
    first, second = fake_telegram.take_updates()
    await asyncio.gather(
        webhook.post(first, webhook.next_replica()), webhook.post(second, webhook.next_replica())
    )
    # Both taps answered (callback answers), and the one that paid said so on screen.
    for _ in range(2):
        await fake_telegram.wait_for_request(
            "answerCallbackQuery",
            where=lambda r: r.params.get("callback_query_id") in ids,
            since=since,
        )
    await fake_telegram.wait_for_request(
        "editMessageText",
        where=lambda r: "got 100.00\xa0₽" in str(r.params.get("text")),
        since=since,
    )
    assert len(payments(smsc)) == 1
    assert sub.balance == Decimal("100.00")
    answered = [
        r.params["callback_query_id"]
        for r in fake_telegram.requests_for("answerCallbackQuery")[-2:]
        if r.index >= since
    ]
    assert set(answered) == ids

    # A language chosen through one replica is the chat's language on the others at once.
    await user.send("/lang")
    await webhook.deliver()
    since = len(fake_telegram.requests)
    await user.press(await user.expect_message(), "Русский")
    await webhook.deliver()
    # The edit that says the choice is saved (earlier edits of the top-up may still be unread).
    await fake_telegram.wait_for_request(
        "editMessageText", where=lambda r: "Готово" in str(r.params.get("text")), since=since
    )
    await user.send("/help")
    await webhook.deliver()
    assert "Что я умею" in (await user.expect_message()).text


async def save_accounts(replica: Replica, secrets: dict[int, str]) -> None:
    """Chats logged in to the test login as if earlier: chat id → the password it saved (or the
    account's API key)."""
    box = SecretBox.from_settings(replica.env["SECRET_KEY"], Path(replica.env["DATA_DIR"]))
    database = await PostgresDatabase.connect(replica.env["DATABASE_URL"])
    try:
        repo = AccountRepo(connection_of(database), box)
        for chat, secret in secrets.items():
            if secret == APIKEY:
                await repo.save(Account(chat, "smsc.ru", None, "apikey", secret))
            else:
                await repo.save(Account(chat, "smsc.ru", LOGIN, "password", secret))
    finally:
        await database.close()


# Distinct reads, so that neither the cache nor the identical-request window folds them.
COMMANDS = ("/balance", "/black", "/templates", "/senders", "/subclients", "/contacts")


async def test_the_per_login_cap_holds_across_three_replicas(
    fleet: tuple[Webhook, list[Replica]], fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    webhook, replicas = fleet
    # One SMSC account, a team's chats: half saved its password, half its API key.
    smsc.accounts[LOGIN].apikey = APIKEY
    chats = list(range(6001, 6061))
    await save_accounts(replicas[0], {c: PASSWORD if c % 2 else APIKEY for c in chats})
    users = [fake_telegram.user(chat, language_code="en") for chat in chats]
    # First a quiet round, so every replica knows both credentials work; then all at once.
    for user in users[:12]:
        await user.send("/balance")
        await webhook.deliver()
        await user.expect_message(timeout=60)
    smsc.latency = 0.3
    for n, user in enumerate(users):
        await user.send(COMMANDS[1 + n % (len(COMMANDS) - 1)])
    await webhook.deliver()
    for user in users:
        await user.expect_message(timeout=60)
    sent = [r for r in smsc.requests if r.login == LOGIN]
    assert len(sent) > 12 + 4
    assert smsc.max_in_flight[LOGIN] <= 4


async def test_at_most_four_failed_authorisations_across_three_replicas(
    fleet: tuple[Webhook, list[Replica]], fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    webhook, replicas = fleet
    # The password was changed on SMSC's site: every chat's saved one is now wrong, and some
    # chats saved a mistyped one long ago.
    chats = list(range(7001, 7031))
    await save_accounts(replicas[0], {c: f"old-password-{c % 7}" for c in chats})
    smsc.latency = 0.05
    users = [fake_telegram.user(chat, language_code="en") for chat in chats]
    for round_ in range(2):
        for n, user in enumerate(users):
            await user.send(COMMANDS[(n + round_) % len(COMMANDS)])
        await webhook.deliver()
        for user in users:
            await user.expect_message(timeout=60)
    failures = [r for r in smsc.requests if r.login is None]
    assert 1 <= len(failures) <= 4
