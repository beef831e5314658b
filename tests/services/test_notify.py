"""bot.services.notify and bot.services.outbox: digest times in a chat's zone (DST included),
the per-account polling slots, the parameters users type, the digest's figures from the
emulator, and the outbox's pace against a recording sender on a real database."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services.notify import (
    DAILY,
    WEEKLY,
    account_figures,
    last_due,
    next_due,
    parse_threshold,
    parse_time,
    period_of,
    phase_of,
    slot_after,
    zone,
)
from bot.services.outbox import Delivery, Outbox, Result
from bot.services.stats import Trends
from bot.smsc import Credentials, SmscConnector
from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import LedgerEntry
from bot.storage.db import open_database
from bot.storage.notify import NotifyRepo
from bot.storage.stats import StatFigures
from tests.conftest import LOGIN
from tests.e2e.helpers import seed_subclient

BERLIN = ZoneInfo("Europe/Berlin")


def test_daily_digest_keeps_local_time_across_dst() -> None:
    # Berlin moves its clocks forward on 29 March 2026: 09:00 is 08:00 UTC, then 07:00 UTC.
    before = last_due(datetime(2026, 3, 28, 12, tzinfo=UTC), BERLIN, DAILY, 9 * 60)
    after = next_due(datetime(2026, 3, 28, 12, tzinfo=UTC), BERLIN, DAILY, 9 * 60)
    assert before.astimezone(UTC) == datetime(2026, 3, 28, 8, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert period_of(after, DAILY) == (date(2026, 3, 28), date(2026, 3, 28))


def test_weekly_digest_is_on_monday_for_the_week_before() -> None:
    due = last_due(datetime(2026, 3, 5, 12, tzinfo=UTC), BERLIN, WEEKLY, 8 * 60)
    assert due.date() == date(2026, 3, 2) and due.hour == 8
    assert period_of(due, WEEKLY) == (date(2026, 2, 23), date(2026, 3, 1))
    upcoming = next_due(datetime(2026, 3, 5, 12, tzinfo=UTC), BERLIN, WEEKLY, 8 * 60)
    assert upcoming.date() == date(2026, 3, 9)


def test_one_slot_per_interval_at_an_accounts_own_phase() -> None:
    phase = phase_of("smsc.ru|alice", 600)
    assert phase != phase_of("smsc.ru|bob", 600)
    now = 1_772_000_000.0
    slots = [slot_after(now, 600, phase)]
    for _ in range(5):
        slots.append(slot_after(slots[-1], 600, phase))
    assert all(b - a == pytest.approx(600) for a, b in itertools.pairwise(slots))
    assert 0 < slots[0] - now <= 600


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("500", "500.00"),
        ("1 500,5", "1500.50"),
        ("1\u202f000,50", "1000.50"),
        ("1,000.50", "1000.50"),
        ("1,000", None),  # a comma is the decimal sign: three decimals, not one rouble
        ("0", None),
        ("-3", None),
        ("1.234", None),
    ],
)
def test_threshold(typed: str, amount: str | None) -> None:
    parsed = parse_threshold(typed)
    assert (str(parsed) if parsed is not None else None) == amount


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1,000", "1000.00"),
        ("12,345,678.9", "12345678.90"),
        ("1000,50", "1000.50"),
        ("1,5", "1.50"),
    ],
)
def test_threshold_in_english(typed: str, amount: str) -> None:
    assert str(parse_threshold(typed, english=True)) == amount


@pytest.mark.parametrize(
    ("typed", "minute"),
    [("09:30", 570), ("9.05", 545), ("21", 1260), ("24:00", None), ("9:5", None)],
)
def test_time(typed: str, minute: int | None) -> None:
    assert parse_time(typed) == minute


def test_zones_are_checked_with_zoneinfo() -> None:
    assert zone("America/New_York") is not None
    assert zone("Mars/Olympus") is None and zone("../etc/passwd") is None and zone("") is None


async def test_figures_are_the_accounts_own_with_the_top_subclients_and_days_kept(
    emulator: SmscEmulator, connector: SmscConnector, credentials: Credentials, tmp_path: Path
) -> None:
    account = emulator.accounts[LOGIN]
    day = date(2026, 3, 6)
    for login, sms, money in (("a", 10, "5"), ("b", 200, "90"), ("c", 30, "12"), ("d", 1, "1")):
        seed_subclient(account, login, 0, LedgerEntry(day, "SMS", sms=sms, credit=Decimal(money)))
    account.ledger.append(LedgerEntry(day, "SMS", sms=300, credit=Decimal("150")))
    account.ledger.append(LedgerEntry(day - timedelta(days=1), "SMS", sms=7, credit=Decimal(3)))
    conn = await open_database(tmp_path / "bot.db")
    trends = Trends(StatFigures(conn), today=lambda: date(2026, 3, 9))
    smsc = connector.client(credentials)
    try:
        figures = await account_figures(smsc, trends, "smsc.ru|x", day, day)
        assert (figures.sms, Decimal(figures.spent), figures.subclients) == (300, Decimal(150), 4)
        assert [login for login, _, _ in figures.top] == ["b", "c", "a"]
        # The chart's week, day by day, with the day before for the comparison.
        assert [d for d, _, _ in figures.days][0::6] == ["2026-02-28", "2026-03-06"]
        assert figures.between(day - timedelta(days=1), day - timedelta(days=1))["sms"] == 7
        # The days are kept: the next day's digest asks get.php for its new day only.
        since = len(emulator.requests)
        await account_figures(
            smsc, trends, "smsc.ru|x", day + timedelta(days=1), day + timedelta(days=1)
        )
        asked = [r for r in emulator.requests[since:] if r.path == "/sys/get.php"]
        assert len(asked) == 1
    finally:
        await conn.close()


# -- the outbox -----------------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[NotifyRepo]:
    conn = await open_database(tmp_path / "bot.db")
    try:
        yield NotifyRepo(conn)
    finally:
        await conn.close()


class Recorder:
    """Stands in for Telegram: when each send started, and what to answer."""

    def __init__(self, answers: dict[int, list[Result]] | None = None) -> None:
        self.starts: list[tuple[float, int]] = []
        self.answers = answers or {}
        self.started = asyncio.Event()

    async def __call__(self, chat_id: int, payload: dict[str, Any]) -> Result:
        self.starts.append((time.monotonic(), chat_id))
        self.started.set()
        queued = self.answers.get(chat_id)
        return queued.pop(0) if queued else Result(Delivery.SENT)


async def test_outbox_paces_sends_overall_and_per_chat(store: NotifyRepo) -> None:
    sender = Recorder()
    outbox = Outbox(store, sender, rate=100, per_chat=0.2)
    await outbox.start()
    try:
        for chat in range(40):
            await outbox.put(chat, {"n": chat})
        for _ in range(3):
            await outbox.put(7, {"again": True})
        await outbox.idle()
    finally:
        await outbox.stop()
    times = [t for t, _ in sender.starts]
    assert len(times) == 43
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.01 * 0.9
    seven = [t for t, chat in sender.starts if chat == 7]
    assert min(b - a for a, b in itertools.pairwise(seven)) >= 0.2 * 0.9
    assert await store.outbox() == []


async def test_sends_are_paced_however_long_their_preparation_took(store: NotifyRepo) -> None:
    sender = Recorder()
    ready = asyncio.Event()
    prepared = 0

    async def prepare(chat_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        # Every preparation (a chart, a database read) ends at the same moment.
        nonlocal prepared
        prepared += 1
        if prepared == 20:
            ready.set()
        await ready.wait()
        return payload

    outbox = Outbox(store, sender, prepare=prepare, rate=50)
    try:
        for chat in range(20):
            await outbox.put(chat, {"n": chat})
        await outbox.start()
        await outbox.idle()
    finally:
        await outbox.stop()
    times = [t for t, _ in sender.starts]
    assert len(times) == 20
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.02 * 0.9


async def test_flood_control_holds_everything_and_the_message_is_sent_after(
    store: NotifyRepo,
) -> None:
    sender = Recorder({1: [Result(Delivery.RETRY, 0.3)]})
    outbox = Outbox(store, sender, rate=100, per_chat=0.01)
    await outbox.start()
    try:
        await outbox.put(1, {})
        await outbox.put(2, {})
        await outbox.idle()
    finally:
        await outbox.stop()
    first, *rest = sender.starts
    assert [chat for _, chat in sender.starts] == [1, 2, 1]
    assert all(t - first[0] >= 0.3 * 0.9 for t, _ in rest[1:])


async def test_a_blocked_chat_is_dropped_with_what_was_queued_for_it(store: NotifyRepo) -> None:
    sender = Recorder({5: [Result(Delivery.BLOCKED)]})
    outbox = Outbox(store, sender, rate=100, per_chat=0.3)
    await outbox.start()
    try:
        for _ in range(3):
            await outbox.put(5, {})
        await outbox.put(6, {})
        await outbox.idle()
        await outbox.put(5, {})  # nothing more is tried for it
        await asyncio.wait_for(outbox.idle(), 5)
    finally:
        await outbox.stop()
    assert [chat for _, chat in sender.starts] == [5, 6]
    assert await store.outbox() == []


async def test_what_a_stopped_outbox_held_is_sent_by_the_next(store: NotifyRepo) -> None:
    held = Recorder({9: [Result(Delivery.RETRY, 60)]})
    first = Outbox(store, held)
    await first.start()
    await first.put(9, {"kind": "digest"})
    await held.started.wait()  # the first attempt is made, and refused for a minute
    await first.stop()
    sender = Recorder()
    second = Outbox(store, sender)
    await second.start()
    await second.idle()
    await second.stop()
    assert [chat for _, chat in sender.starts] == [9]


async def test_what_was_prepared_ahead_is_sent_and_anything_else_prepared_at_the_send(
    store: NotifyRepo,
) -> None:
    sender = Recorder()
    prepared: list[int] = []

    async def prepare(chat_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        prepared.append(chat_id)
        return payload

    digest = {"kind": "digest", "days": [("2026-03-03", 5, "1.50")], "late": False}
    outbox = Outbox(store, sender, prepare=prepare)
    await outbox.start()
    try:
        await outbox.prepare_ahead(1, digest)
        await outbox.prepare_ahead(2, digest)
        await outbox.ahead_ready()
        assert prepared == [1, 2]
        # The same payload (tuples or lists alike, as after a round trip through JSON) is only
        # sent; one that changed meanwhile (now late) is prepared again.
        await outbox.put(1, {**digest, "days": [["2026-03-03", 5, "1.50"]]})
        await outbox.put(2, {**digest, "late": True})
        await outbox.idle()
    finally:
        await outbox.stop()
    assert prepared == [1, 2, 2] and outbox.prepared_ahead == 1
    assert sorted(chat for _, chat in sender.starts) == [1, 2]
