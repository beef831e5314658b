"""/stats end to end: periods by button and typed (with the edge cases), the per-subclient table
with totals, the per-operator breakdown, /stats <login>, the CSV file for long tables, Russian
number formats and buttons across a restart."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import Account, LedgerEntry
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

TODAY = date.today()


def sms(day: date, operator: str, mccmnc: str, count: int, spent: str) -> LedgerEntry:
    return LedgerEntry(day, "Отправка SMS", operator, mccmnc, count, credit=Decimal(spent))


def top_up(day: date, amount: str) -> LedgerEntry:
    return LedgerEntry(day, "Пополнение баланса", debit=Decimal(amount))


def fill(account: Account) -> None:
    seed_subclient(
        account,
        "alpha",
        0,
        sms(TODAY, "МТС", "25001", 10, "21.50"),
        sms(TODAY, "МегаФон", "25002", 5, "11.50"),
        top_up(TODAY, "500"),
        sms(date(2024, 6, 1), "МТС", "25001", 2, "4.30"),
    )
    seed_subclient(account, "beta", 2, sms(TODAY, "Tele2", "25020", 3, "6.45"))


async def pick(user: FakeUser, command: str, button: str) -> MessageView:
    await user.send(command)
    picker = await user.expect_message()
    await user.press(picker, button)
    return await user.expect_edit()


async def test_this_month_table_with_totals_and_a_breakdown(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    fill(smsc.accounts[LOGIN])
    user = fake_telegram.user(8001)
    await login(user)
    await user.send("/stats")
    picker = await user.expect_message()
    assert picker.button_texts == [
        "Today",
        "Yesterday",
        "This week",
        "This month",
        "Last month",
        "⬅ Menu",
    ]
    await user.press(picker, "This month")
    table = (await user.expect_edit()).text or ""
    assert "alpha: 15 messages, spent 33.00\xa0₽, credited 500.00\xa0₽" in table
    assert "beta: 3 messages, spent 6.45\xa0₽, credited 0.00\xa0₽" in table
    assert "All subclients: 18 messages, spent 39.45\xa0₽, credited 500.00\xa0₽" in table
    # Biggest spender first.
    assert table.index("alpha") < table.index("beta")
    await user.press(picker, "alpha")
    # Issue 13 item 5: the per-operator view in place of the table, and back.
    breakdown = await user.expect_edit()
    assert breakdown.message_id == picker.message_id
    text = breakdown.text or ""
    assert "МТС · Отправка SMS: 10 messages, spent 21.50\xa0₽" in text
    assert "МегаФон · Отправка SMS: 5 messages, spent 11.50\xa0₽" in text
    assert "Пополнение баланса: credited 500.00\xa0₽" in text
    assert "Total: 15 messages, spent 33.00\xa0₽, credited 500.00\xa0₽" in text
    assert {"« All subclients", "Another period"} <= set(breakdown.button_texts)
    await user.press(breakdown, "« All subclients")
    assert "alpha: 15 messages" in ((await user.expect_edit()).text or "")


async def test_typed_periods_refuse_what_cannot_be_and_clamp_the_future(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    fill(smsc.accounts[LOGIN])
    user = fake_telegram.user(8002)
    await login(user)
    await user.send("/stats")
    await user.expect_message()
    tomorrow = TODAY + timedelta(days=1)
    refusals = (
        ("31.02.2024-01.03.2024", "no such day"),
        ("10.03.2024-01.03.2024", "ends before it starts"),
        (f"{tomorrow:%d.%m.%Y}-{tomorrow + timedelta(days=5):%d.%m.%Y}", "starts in the future"),
        ("Martember", "not a period I know"),
    )
    before = len(smsc.requests)
    for typed, words in refusals:
        await user.send(typed)
        assert words in ((await user.expect_message()).text or "")
    assert len(smsc.requests) == before, "a refused period must not reach SMSC"
    # The conversation is still waiting for a period: no need to send /stats again.
    await user.send(f"01.06.2024-{TODAY + timedelta(days=30):%d.%m.%Y}")
    table = (await user.expect_message()).text or ""
    assert "ends today" in table
    assert "alpha: 17 messages, spent 37.30\xa0₽" in table
    assert smsc.requests[-1].params["end"] == f"{TODAY:%d.%m.%Y}"


async def test_stats_with_a_login_opens_that_subclient(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    fill(smsc.accounts[LOGIN])
    user = fake_telegram.user(8003)
    await login(user)
    breakdown = (await pick(user, "/stats beta", "Today")).text or ""
    assert breakdown.startswith("beta, ")
    assert "Tele2 · Отправка SMS: 3 messages, spent 6.45\xa0₽" in breakdown
    nobody = await pick(user, "/stats nobody", "Today")
    assert "no subclient" in (nobody.text or "") and nobody.button_texts  # a way on
    await user.send("/stats alpha 01.06.2024-30.06.2024")
    assert "2 messages, spent 4.30\xa0₽" in ((await user.expect_message()).text or "")
    await user.send("/stats alpha beta")
    assert "Use /stats, /stats <period>" in ((await user.expect_message()).text or "")


async def test_a_long_table_is_shortened_and_sent_as_csv(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    for n in range(150):
        seed_subclient(
            account, f"client-{n:03d}", 0, sms(TODAY, "МТС", "25001", n + 1, f"{n + 1}.00")
        )
    user = fake_telegram.user(8004)
    await login(user)
    table = await pick(user, "/stats", "Today")
    text = table.text or ""
    assert len(text) <= 4096 and "more lines: the whole table is in the file" in text
    assert "All subclients: 11,325 messages, spent 11,325.00\xa0₽" in text
    # 40 subclients, two trends, two spend charts, CSV, Excel, "Another period" and home.
    assert len(table.button_texts) == 48
    document = (await user.expect_message()).document
    assert document is not None and (document.file_name or "").endswith(".csv")
    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
    assert rows[0] == ["login", "messages", "spent", "credited", "currency"]
    assert len(rows) == 1 + 1 + 150 + 1
    assert rows[1] == ["(own)", "0", "0.00", "0.00", "RUB"]
    assert rows[2] == ["client-149", "150", "150.00", "0.00", "RUB"]
    assert rows[-1] == ["TOTAL", "11325", "11325.00", "0.00", "RUB"]
    # A subclient's breakdown and back, in place: the table's file is not sent again.
    await user.press(table, "client-149")
    await user.press(await user.expect_edit(), "« All subclients")
    assert "11,325 messages" in ((await user.expect_edit()).text or "")
    await user.assert_no_reply(timeout=1, edits=False)


async def test_russian_number_formats(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_subclient(smsc.accounts[LOGIN], "alpha", 0, top_up(TODAY, "1500"))
    user = fake_telegram.user(8005, language_code="ru")
    await login(user, expect=None)
    await user.send("/stats")
    picker = await user.expect_message()
    # The first button is "Today" in whatever words the catalog gives it.
    await user.press(picker, picker.buttons[0][0].text)
    text = (await user.expect_edit()).text or ""
    # Babel in Russian: a space groups thousands, a comma separates kopecks, the sign follows.
    assert "1\xa0500,00\xa0₽" in text


async def test_table_buttons_work_after_a_restart(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    fill(smsc.accounts[LOGIN])
    user = fake_telegram.user(8006)
    await login(user)
    table = await pick(user, "/stats", "This week")
    await bot.restart()
    await user.press(table, "beta")
    card = (await user.expect_edit()).text or ""
    assert "Tele2" in card
    assert "25020" not in card  # the operator's name, never its MCC/MNC code (issue 13)
    await user.press(table, "« All subclients")
    table = await user.expect_edit()
    await user.press(table, "Another period")
    await user.expect_message()
    await user.send(f"{TODAY:%d.%m.%Y}")
    assert "alpha: 15 messages" in ((await user.expect_message()).text or "")


async def test_a_login_of_2000_emoji_is_echoed_cut_to_fit(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """/stats echoes its argument; 2,000 emoji are 4,000 UTF-16 units, which with the rest of
    the prompt Telegram refuses. The echo is cut short with an ellipsis instead."""
    user = fake_telegram.user(8061)
    await login(user)
    await user.send("/stats " + "😀" * 2000)
    picker = (await user.expect_message()).text or ""
    # 64 UTF-16 units: 31 emoji and the ellipsis.
    assert picker.startswith("Statistics of " + "😀" * 31 + "….\n"), picker[:200]
    assert "Choose the period" in picker
    assert all(r.ok for r in fake_telegram.requests_for("sendMessage"))


async def test_a_subclient_with_its_own_balance_is_asked_about_with_reseller(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    # users.php: plain get_stat covers subclients sharing the main balance, reseller=1 the others.
    fill(smsc.accounts[LOGIN])
    user = fake_telegram.user(8010)
    await login(user)
    table = await pick(user, "/stats", "This month")
    for login_, own in (("alpha", True), ("beta", False)):
        await user.press(table, login_)
        shown = await user.expect_edit()
        breakdown = shown.text or ""
        await user.press(shown, "« All subclients")
        table = await user.expect_edit()
        assert "Отправка SMS" in breakdown, breakdown
        [asked] = [r.params for r in smsc.requests if r.params.get("get_stat_all")][-1:]
        assert asked["user"] == login_ and ("reseller" in asked) is own
    await user.send("/subclients")
    listing = await user.expect_message()
    await user.press(listing, "alpha")
    card = (await user.expect_edit()).text or ""
    assert "This month: 15 messages" in card


async def test_spent_and_credited_are_labelled_as_the_page_defines_credit_and_debit(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    # users.php: "<credit> - debit." (money spent), "<debit> - credit." (money credited).
    seed_subclient(
        smsc.accounts[LOGIN], "gamma", 0, sms(TODAY, "МТС", "25001", 4, "9.00"), top_up(TODAY, "50")
    )
    user = fake_telegram.user(8011)
    await login(user)
    table = (await pick(user, "/stats", "This month")).text or ""
    assert "gamma: 4 messages, spent 9.00\xa0₽, credited 50.00\xa0₽" in table
    legend = "Spent: money paid for messages (SMSC's “credit”). Credited: money put on the balance"
    assert legend in table
    await user.send("/stats gamma")
    await user.press(await user.expect_message(), "This month")
    assert legend in ((await user.expect_edit()).text or "")
