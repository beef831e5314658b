"""/stats for every account and /history end to end, through the fake Bot API (photos and files
really sent) and the SMSC emulator: own figures without subclients, a reseller's both, trends
filled once and then read from SQLite across a restart, spend charts, the Excel export, the history
of a number paged back through 2,500 messages with prev_id, Cyrillic intact, get.php's errors in
words, and periods typed as words. The wall clock is moved with time-machine, never waited for."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from bot.smsc.emulator import LedgerEntry, SmscEmulator, seed_messages
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import get_requests, login, seed_contact, seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

NOW = datetime(2026, 12, 2, 15, 30)
PHONE = "79161112233"
TEXT = "Ваш код: ёжик 🦔 «1234»\nвторая строка"


@pytest.fixture(autouse=True)
def december() -> Iterator[None]:
    # The bot and the emulator run in this process: both see this day.
    with time_machine.travel(NOW, tick=True):
        yield


def own_activity(smsc: SmscEmulator) -> None:
    """Three messages today, one yesterday and a top-up this month, on the account itself."""
    account = smsc.accounts[LOGIN]
    seed_messages(account, PHONE, 3, last=NOW - timedelta(hours=1), every=timedelta(minutes=5))
    seed_messages(account, PHONE, 1, last=NOW - timedelta(days=1))
    account.ledger.append(
        LedgerEntry(date(2026, 12, 1), "Пополнение баланса", debit=Decimal("100"))
    )


async def report(user: FakeUser, button: str = "Today") -> MessageView:
    await user.send("/stats")
    picker = await user.expect_message()
    await user.press(picker, button)
    return await user.expect_edit()


async def test_an_account_without_subclients_sees_its_own_figures(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    own_activity(smsc)
    user = fake_telegram.user(8101)
    await login(user)
    today = await report(user, "Today")
    text = today.text or ""
    assert "Your account: 3 messages, spent 4.50\xa0₽, credited 0.00\xa0₽" in text
    assert "Subclients" not in text and "No subclient" not in text
    assert {"📈 By month", "📈 By day", "⬇ CSV", "⬇ Excel"} <= set(today.button_texts)
    assert "📊 Subclients" not in today.button_texts
    await user.send("/stats month")
    month = (await user.expect_message()).text or ""
    assert month.startswith("Statistics, Dec 1\u2009–\u20092, 2026")
    assert "Your account: 4 messages, spent 6.00\xa0₽, credited 100.00\xa0₽" in month


async def test_a_reseller_sees_its_own_figures_and_its_subclients(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    own_activity(smsc)
    spend = LedgerEntry(NOW.date(), "Отправка SMS", "МТС", "25001", 7, credit=Decimal("10.50"))
    seed_subclient(smsc.accounts[LOGIN], "клиент-1", 0, spend)
    user = fake_telegram.user(8102)
    await login(user)
    view = await report(user, "Today")
    text = view.text or ""
    assert "Your account: 3 messages, spent 4.50\xa0₽" in text
    assert "Subclients\nклиент-1: 7 messages, spent 10.50\xa0₽, credited 0.00\xa0₽" in text
    assert text.index("Your account") < text.index("клиент-1")
    assert {"клиент-1", "📊 Subclients", "📊 Operators"} <= set(view.button_texts)
    await user.press(view, "📊 Operators")
    operators = await user.expect_message()
    assert operators.photo is not None and operators.photo.content.startswith(b"\x89PNG")
    assert "МТС: 10.50\xa0₽" in (operators.text or "")
    await user.press(view, "⬇ Excel")
    document = (await user.expect_message()).document
    assert document is not None and (document.file_name or "").endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(document.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["login", "messages", "spent", "credited", "currency"]
    # Numbers as numbers, so the sheet adds them up.
    assert cells[1] == ["(own)", 3, 4.5, 0, "RUB"]
    assert cells[2] == ["клиент-1", 7, 10.5, 0, "RUB"]


async def test_the_trend_fills_once_then_comes_from_sqlite_with_one_request(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    own_activity(smsc)
    user = fake_telegram.user(8103)
    await login(user)
    view = await report(user, "This month")
    await user.press(view, "📈 By month")
    first = await user.expect_message()
    assert first.photo is not None and first.photo.content.startswith(b"\x89PNG")
    assert (first.text or "").startswith("The last 12 months: 4 messages, spent 6.00\xa0₽")
    assert "This month: 4 messages, spent 6.00\xa0₽" in (first.text or "")
    assert len(get_requests(smsc, "get_stat")) == 1 + 12  # the report, then every month
    # After a restart nothing is in memory: the months that are over come from SQLite.
    await bot.restart()
    await user.press(view, "📈 By month")
    second = await user.expect_message()
    asked = get_requests(smsc, "get_stat")[13:]
    assert len(asked) == 1 and asked[0]["start"] == "01.12.2026"
    assert second.text == first.text
    await user.press(view, "📈 By day")
    days = await user.expect_message()
    assert days.photo is not None
    assert "Today: 3 messages, spent 4.50\xa0₽" in (days.text or "")
    # With this month's finished days kept too, a month trend asks SMSC for today only.
    asked_before = len(get_requests(smsc, "get_stat"))
    await user.press(view, "📈 By month")
    third = await user.expect_message()
    [today_only] = get_requests(smsc, "get_stat")[asked_before:]
    assert (today_only["start"], today_only["end"]) == ("02.12.2026", "02.12.2026")
    assert third.text == first.text


async def test_history_pages_back_through_2500_messages_with_prev_id(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_messages(account, PHONE, 2500, last=NOW - timedelta(minutes=1), texts=[TEXT, "Code 2"])
    user = fake_telegram.user(8104)
    await login(user)
    await user.send("/history +7 916 111-22-33")
    page = await user.expect_message()
    text = page.text or ""
    assert text.startswith("Sent to +7 916 111-22-33, newest first:")
    assert "Dec 2, 15:29 · SMSC.RU · delivered · cost 1.50" in text
    assert "Ваш код: ёжик 🦔 «1234» …" in text and "вторая строка" not in text
    assert "Newest" not in " ".join(page.button_texts)
    seen = text.count("· delivered ·")
    pages = 1
    while "Older ▶" in page.button_texts:
        await user.press(page, "Older ▶")
        page = await user.expect_edit()
        seen += (page.text or "").count("· delivered ·")
        pages += 1
    assert (seen, pages) == (2500, 250)
    assert "⏮ Newest" in page.button_texts
    requests = get_requests(smsc, "get_messages")
    assert len(requests) == 250 and requests[0].get("prev_id") is None
    # Each page asks for the messages before the last one shown, by SMSC's int_id.
    ids = sorted((m.int_id for m in account.sent), reverse=True)
    assert [int(r["prev_id"]) for r in requests[1:]] == [ids[10 * n - 1] for n in range(1, 250)]
    assert all(r["phone"] == PHONE and int(r["cnt"]) <= 1000 for r in requests)
    # Six months back, with a day of margin, and no end: SMSC answers up to its own now (a UTC
    # server's date lags SMSC's Moscow date three hours every evening).
    assert requests[0]["start"] == "03.06.2026" and "end" not in requests[0]


async def test_a_contacts_card_opens_what_was_sent_to_it(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_contact(smsc, PHONE, "Оля")
    seed_messages(smsc.accounts[LOGIN], PHONE, 2, last=NOW, texts=[TEXT])
    user = fake_telegram.user(8105, language_code="ru")
    await login(user, expect=None)
    await user.send("/contacts Оля")
    found = await user.expect_message()
    await user.press(found, "Оля")
    card = await user.expect_message()
    await user.press(card, "Что отправляли")
    history = (await user.expect_message()).text or ""
    assert history.startswith("Отправлено на +7 916 111-22-33, сначала новые:")
    assert "доставлено · стоимость 1,50" in history and "Ваш код: ёжик 🦔 «1234»" in history


EXPECTED_WORDS = {
    1: "the number or the dates are not valid",
    2: "SMSC refused the saved password",
    3: "Nothing was sent to +7 916 111-22-33 in the last six months",
    4: "temporarily blocked",
    5: "could not give these figures now (error 5)",
    6: "could not give these figures now (error 6)",
    7: "could not give these figures now (error 7)",
    8: "could not give these figures now (error 8)",
    9: "wait a minute",
}


@pytest.mark.parametrize("code", sorted(EXPECTED_WORDS))
async def test_get_php_errors_in_words(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, code: int
) -> None:
    user = fake_telegram.user(8200 + code)
    await login(user)
    smsc.fault = code
    await user.send(f"/history {PHONE}")
    answer = (await user.expect_message()).text or ""
    assert EXPECTED_WORDS[code] in answer
    assert "incident" not in answer


async def test_periods_in_words_in_both_languages(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    own_activity(smsc)
    user = fake_telegram.user(8106, language_code="ru")
    await login(user, expect=None)
    await user.send("/stats месяц")
    month = (await user.expect_message()).text or ""
    assert month.startswith("Статистика за 1—2 дек. 2026\u202fг.")
    assert "Ваш аккаунт: 4 сообщения" in month
    await user.send("/stats ноябрь")
    november = (await user.expect_message()).text or ""
    assert november.startswith("Статистика за 1—30 нояб. 2026\u202fг.")
    await user.send("/stats вчера")
    yesterday = (await user.expect_message()).text or ""
    assert yesterday.startswith("Статистика за 1 дек. 2026\u202fг.") and "1 сообщение" in yesterday


@pytest.mark.parametrize(
    ("language", "typed", "title"),
    [
        ("ru", "/stats прошлый месяц", "Статистика за 1—30 нояб. 2026\u202fг."),
        ("ru", "/stats неделя", "Статистика за 30 нояб. — 2 дек. 2026\u202fг."),
        ("ru", "/stats 01.11–15.11", "Статистика за 1—15 нояб. 2026\u202fг."),
        ("en", "/stats last week", "Statistics, Nov 23\u2009–\u200929, 2026"),
        ("en", "/stats November", "Statistics, Nov 1\u2009–\u200930, 2026"),
        ("en", "/stats last month", "Statistics, Nov 1\u2009–\u200930, 2026"),
        ("en", "/stats 1.11-15.11", "Statistics, Nov 1\u2009–\u200915, 2026"),
    ],
)
async def test_more_periods_in_words_typed_and_after_another_period(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    language: str,
    typed: str,
    title: str,
) -> None:
    """Issue 13 item 9 as a user types them, after /stats and at "Another period"."""
    user = fake_telegram.user(8110 if language == "en" else 8111, language_code=language)
    await login(user, expect=None)
    await user.send(typed)
    assert ((await user.expect_message()).text or "").startswith(title)
    shown = await report(user, "Today" if language == "en" else "Сегодня")
    await user.press(shown, "Another period" if language == "en" else "Другой период")
    picker = await user.expect_message()
    assert {"⬅ Menu", "⬅ Меню"} & set(picker.button_texts)  # a step with the way home
    await user.send(typed.removeprefix("/stats "))
    assert ((await user.expect_message()).text or "").startswith(title)


async def test_history_without_a_number_or_with_a_wrong_one_says_how_and_leads_home(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(8300)
    await login(user)
    for typed in ("/history", "/history abc"):
        await user.send(typed)
        answer = await user.expect_message()
        assert "+7 916 123-45-67" in (answer.text or "")
        assert "⬅ Menu" in answer.button_texts
    assert not [r for r in smsc.requests if r.params.get("get_messages")]
