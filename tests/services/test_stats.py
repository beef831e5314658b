"""bot.services.stats and the get.php client against the SMSC emulator over HTTP, with the trend
cache in a real SQLite file: own figures, trends filled once and then read from SQLite, the fill's
concurrency, history paged with prev_id, the page's limits and error codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest

from bot.periods import Period
from bot.services import stats
from bot.smsc import SmscClient, SmscConnector, SmscError
from bot.smsc.client import months_before
from bot.smsc.emulator import LedgerEntry, SmscEmulator, seed_messages
from bot.storage.db import open_database
from bot.storage.stats import StatFigures
from tests.conftest import LOGIN, ManualClock
from tests.e2e.helpers import get_requests

TODAY = date(2026, 12, 2)
PHONE = "79161112233"
ACCOUNT = "smsc.ru|alice"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StatFigures]:
    conn: aiosqlite.Connection = await open_database(tmp_path / "bot.db")
    try:
        yield StatFigures(conn)
    finally:
        await conn.close()


def spend_every_day(emulator: SmscEmulator, first: date, last: date) -> None:
    """One message a day at 1.50 and, on the 1st of each month, a top-up."""
    account = emulator.accounts[LOGIN]
    day = first
    while day <= last:
        seed_messages(account, PHONE, 1, last=datetime(day.year, day.month, day.day, 12))
        if day.day == 1:
            account.ledger.append(LedgerEntry(day, "Пополнение баланса", debit=Decimal("100")))
        day += timedelta(days=1)


async def test_own_totals_for_a_period(smsc: SmscClient, emulator: SmscEmulator) -> None:
    spend_every_day(emulator, date(2026, 11, 1), TODAY)
    figures = await stats.own_totals(smsc, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert (figures.sms, figures.spent, figures.credited, figures.currency) == (
        30,
        Decimal("45.00"),
        Decimal("100.00"),
        "RUB",
    )
    # No activity: zeros, not an error.
    empty = await stats.own_totals(smsc, Period(date(2020, 1, 1), date(2020, 1, 31)))
    assert (empty.sms, empty.spent) == (0, Decimal(0))


async def test_months_fill_once_then_only_this_month_is_asked(
    smsc: SmscClient, emulator: SmscEmulator, store: StatFigures, clock: ManualClock
) -> None:
    spend_every_day(emulator, date(2025, 12, 1), TODAY)
    trends = stats.Trends(store, today=lambda: TODAY)
    first = await trends.months(smsc, ACCOUNT)
    assert first.asked == 12 and len(get_requests(emulator, "get_stat")) == 12
    assert first.points[0].start == date(2026, 1, 1)
    assert first.points[-1].start == date(2026, 12, 1) and first.points[-1].sms == 2
    assert first.points[10].sms == 30 and first.points[10].spent == Decimal("45.00")
    # The fill stayed under the per-login cap.
    assert emulator.max_in_flight[LOGIN] <= stats.FILL_CONCURRENCY
    clock.advance(61)
    second = await trends.months(smsc, ACCOUNT)
    assert second.asked == 1 and len(get_requests(emulator, "get_stat")) == 13
    assert get_requests(emulator, "get_stat")[-1]["start"] == "01.12.2026"
    assert second.points == first.points


async def test_days_keep_what_is_over_and_a_new_day_asks_for_two(
    smsc: SmscClient, emulator: SmscEmulator, store: StatFigures, clock: ManualClock
) -> None:
    spend_every_day(emulator, date(2026, 11, 25), date(2026, 12, 5))
    today = [date(2026, 12, 4)]
    trends = stats.Trends(store, today=lambda: today[0])
    first = await trends.days(smsc, ACCOUNT)
    assert first.asked == 4 and [p.sms for p in first.points] == [1, 1, 1, 1]
    clock.advance(61)
    assert (await trends.days(smsc, ACCOUNT)).asked == 1
    today[0] = date(2026, 12, 5)
    clock.advance(61)
    # Yesterday was today when asked, so it was not kept: it and today are asked.
    third = await trends.days(smsc, ACCOUNT)
    assert third.asked == 2 and len(third.points) == 5


async def test_history_pages_back_through_2500_messages_with_prev_id(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    account = emulator.accounts[LOGIN]
    seed_messages(
        account,
        PHONE,
        2500,
        last=datetime(2026, 12, 2, 9),
        texts=["Ваш код: ёжик\nстрока 2", "Code"],
    )
    seed_messages(account, "79990000000", 5, last=datetime(2026, 12, 2, 10))
    seen = [m async for m in smsc.iter_messages(PHONE, start=date(2026, 6, 2), end=TODAY)]
    assert len(seen) == 2500 and len({m.int_id for m in seen}) == 2500
    assert [m.int_id for m in seen] == sorted((m.int_id for m in seen), reverse=True)
    pages = get_requests(emulator, "get_messages")
    assert [p.get("prev_id") for p in pages] == [
        None,
        str(seen[999].int_id),
        str(seen[1999].int_id),
    ]
    assert all(p["cnt"] == "1000" for p in pages)
    newest = seen[0]
    assert newest.phone == PHONE and newest.sender == "SMSC.RU" and newest.cost == Decimal("1.50")
    assert newest.sent_at == datetime(2026, 12, 2, 9)
    assert {m.message for m in seen} == {"Ваш код: ёжик\nстрока 2", "Code"}


async def test_page_limits_are_refused_before_smsc(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    with pytest.raises(ValueError, match="six months"):
        await smsc.get_messages(PHONE, start=date(2026, 6, 1), end=TODAY)
    with pytest.raises(ValueError, match="cnt"):
        await smsc.get_messages(PHONE, cnt=1001)
    assert not get_requests(emulator, "get_messages")
    # Six months to the day is allowed.
    assert await smsc.get_messages(PHONE, start=date(2026, 6, 2), end=TODAY) == []


@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_emulator_refuses_more_than_six_months_and_1000_in_every_fmt(
    connector: SmscConnector, emulator: SmscEmulator, fmt: str
) -> None:
    base = {"login": LOGIN, "psw": emulator.accounts[LOGIN].password, "get_messages": "1"}
    base.update(phone=PHONE, fmt=fmt, charset="utf-8")
    too_long = await connector.http.post(
        f"{emulator.base_url}/sys/get.php",
        data={**base, "start": "01.06.2026", "end": "02.12.2026"},
    )
    too_many = await connector.http.post(
        f"{emulator.base_url}/sys/get.php", data={**base, "start": "01.12.2026", "cnt": "1001"}
    )
    expected = {
        "0": "ERROR = 1",
        "1": "0,-1",
        "2": "<error_code>1</error_code>",
        "3": '"error_code": 1',
    }
    assert expected[fmt] in too_long.text and expected[fmt] in too_many.text


@pytest.mark.parametrize("code", range(1, 10))
async def test_error_codes_of_get_php(smsc: SmscClient, emulator: SmscEmulator, code: int) -> None:
    emulator.fault = code
    if code == 3:
        # Nothing found: an empty history and a period without activity.
        assert await smsc.get_messages(PHONE) == []
        assert (await smsc.get_account_stat(TODAY)).sms == 0
        return
    with pytest.raises(SmscError) as caught:
        await smsc.get_messages(PHONE)
    assert caught.value.code == code and caught.value.command == "get.get_messages"


async def test_charts_are_png_and_drawn_off_the_event_loop(store: StatFigures) -> None:
    points = tuple(
        stats.Figures(start, n * 10, Decimal(n * 100), Decimal(0), "RUB")
        for n, start in enumerate(stats.month_starts(TODAY))
    )
    png = await stats.trend_chart(stats.Trend("month", points, 0), locale="ru")
    assert png.startswith(b"\x89PNG")
    bars = await stats.bars_chart("Субклиенты", [("альфа", Decimal("12.50"))], "RUB", locale="ru")
    assert bars.startswith(b"\x89PNG")


async def test_a_fill_that_fails_half_way_keeps_what_arrived(
    smsc: SmscClient, emulator: SmscEmulator, store: StatFigures, clock: ManualClock
) -> None:
    spend_every_day(emulator, date(2025, 12, 1), TODAY)
    trends = stats.Trends(store, today=lambda: TODAY)
    emulator.latency = 0.01
    answered = 0
    original = emulator._serve

    async def flaky(script: str, params: dict[str, str], record: object) -> object:
        nonlocal answered
        answered += 1
        if answered == 6:
            emulator.fault = 9
        return await original(script, params, record)  # type: ignore[arg-type]

    emulator._serve = flaky  # type: ignore[method-assign]
    with pytest.raises(SmscError):
        await trends.months(smsc, ACCOUNT)
    emulator.fault = None
    clock.advance(61)
    kept = len(await store.get(ACCOUNT, "month", stats.month_starts(TODAY)))
    assert 1 <= kept <= 10
    again = await trends.months(smsc, ACCOUNT)
    assert again.asked == 12 - kept


@pytest.mark.parametrize("charset", ["utf-8", ""])
async def test_emulator_answers_get_php_in_every_fmt(
    connector: SmscConnector, emulator: SmscEmulator, charset: str, clock: ManualClock
) -> None:
    account = emulator.accounts[LOGIN]
    seed_messages(account, PHONE, 2, last=datetime(2026, 12, 2, 9), texts=["Привет, мир"])
    answers = {}
    for fmt in "0123":
        # fmt does not make a request different: a minute apart, or the fourth is error 9.
        clock.advance(61)
        form = {"login": LOGIN, "psw": account.password, "fmt": fmt, "charset": charset}
        form.update(get_messages="1", phone=PHONE, start="01.12.2026", end="02.12.2026")
        reply = await connector.http.post(f"{emulator.base_url}/sys/get.php", data=form)
        answers[fmt] = reply.content.decode(charset or "cp1251")
        stat = {**form, "get_stat": "1", "get_messages": "0", "cnt": str(int(fmt) + 1)}
        stat_reply = await connector.http.post(f"{emulator.base_url}/sys/get.php", data=stat)
        answers["stat" + fmt] = stat_reply.content.decode(charset or "cp1251")
    assert answers["0"].count("status = 1, last_date = 02.12.2026 09:00:00") == 1
    assert "message = Привет, мир, sms_cnt = 1" in answers["0"]
    assert answers["1"].splitlines()[0].startswith("1,02.12.2026 09:00:00,")
    assert "<sms>" in answers["2"] and "<message>Привет, мир</message>" in answers["2"]
    assert '"message": "Привет, мир"' in answers["3"] and '"int_id": ' in answers["3"]
    assert (
        answers["stat0"] == f"login = {LOGIN}, sms = 2, credit = 3.00, debit = 0.00, currency = RUB"
    )
    assert answers["stat1"] == f"{LOGIN},2,3.00,0.00,RUB"
    assert "<stat>" in answers["stat2"] and "<sms>2</sms>" in answers["stat2"]
    assert '"sms": "2"' in answers["stat3"]


async def test_one_message_as_an_object_and_numbers_as_strings(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    message = {
        "status": "-1",
        "last_date": "",
        "err": "",
        "send_date": "01.12.2026 10:05",
        "phone": PHONE,
        "cost": "2,15",
        "sender_id": "Shop",
        "status_name": "Ожидает отправки",
        "message": "Текст",
        "int_id": "5001",
    }
    emulator.fault = "garbage"
    emulator.garbage_body = json.dumps(message, ensure_ascii=False).encode()
    [found] = await smsc.get_messages(PHONE)
    assert (found.status, found.err, found.int_id, found.cost) == (-1, 0, 5001, Decimal("2.15"))
    assert found.sent_at == datetime(2026, 12, 1, 10, 5) and found.sender == "Shop"
    emulator.garbage_body = json.dumps({"cnt": "4", "credit": "6.00", "debit": "0"}).encode()
    stat = await smsc.get_account_stat(TODAY)
    assert (stat.sms, stat.spent) == (4, Decimal("6.00"))


def test_matplotlib_and_openpyxl_are_not_imported_at_start() -> None:
    # A process of its own: this one may have drawn a chart already.
    code = (
        "import sys, bot.app, handlers; handlers.get_routers(); "
        "print(sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_month_starts_and_six_months_back_cross_years_and_short_months() -> None:
    starts = stats.month_starts(date(2026, 1, 15))
    assert starts[0] == date(2025, 2, 1) and starts[-1] == date(2026, 1, 1) and len(starts) == 12
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2024, 8, 31), 6) == date(2024, 2, 29)
    assert months_before(date(2026, 3, 15), 6) == date(2025, 9, 15)


async def test_once_the_days_are_kept_a_month_trend_asks_for_today_only(
    smsc: SmscClient, emulator: SmscEmulator, store: StatFigures, clock: ManualClock
) -> None:
    spend_every_day(emulator, date(2025, 12, 1), TODAY)
    trends = stats.Trends(store, today=lambda: TODAY)
    before = await trends.months(smsc, ACCOUNT)
    await trends.days(smsc, ACCOUNT)
    clock.advance(61)
    asked = len(get_requests(emulator, "get_stat"))
    after = await trends.months(smsc, ACCOUNT)
    [only] = get_requests(emulator, "get_stat")[asked:]
    assert after.asked == 1 and (only["start"], only["end"]) == ("02.12.2026", "02.12.2026")
    # The month from its days is the month as SMSC counts it.
    assert after.points == before.points
