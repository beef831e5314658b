"""/notify end to end: the bot against the fake Telegram server and the SMSC emulator, the wall
clock moved with time-machine, each round of polling driven by ``Notifier.tick`` (the loop in
the background does the same; the state in the database makes either one's work final)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import time_machine

from bot import charts
from bot.services.notify import Notifier
from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import LedgerEntry
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import has_cyrillic, login, seed_sender, seed_subclient
from tests.e2e.test_teams import answer_of, invite, join, team_of
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

POLL = 600
Clock = time_machine.Traveller
D300, D100 = Decimal("300"), Decimal("100")


@pytest.fixture
def clock() -> Iterator[Clock]:
    # A Wednesday morning in UTC; the monotonic clock (asyncio, timeouts) is left alone.
    with time_machine.travel(datetime(2026, 3, 4, 6, 0, tzinfo=UTC), tick=True) as traveller:
        yield traveller


def notifier(bot: RunningBot) -> Notifier:
    assert bot.app is not None
    return bot.app.notifier


async def control(smsc: SmscEmulator, what: str, **fields: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{smsc.base_url}/control/{what}", data=fields)
        answer.raise_for_status()


async def set_balance(smsc: SmscEmulator, amount: str) -> None:
    await control(smsc, "balance", login=LOGIN, balance=amount)


async def rounds(bot: RunningBot, clock: Clock, seconds: float) -> None:
    """Let ``seconds`` pass, one polling interval at a time, and deliver what was queued."""
    note = notifier(bot)
    left = seconds
    while left > 0:
        step = min(POLL, left)
        clock.shift(timedelta(seconds=step))
        left -= step
        await note.tick()
    await note.outbox.idle()


def balance_reads(smsc: SmscEmulator, since: int = 0) -> int:
    return sum(1 for r in smsc.requests[since:] if r.path == "/sys/balance.php")


def sent_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """Texts and captions the bot tried to send to the chat (answered or refused)."""
    return [
        str(r.params.get("text") or r.params.get("caption") or "")
        for r in telegram.requests
        if r.method in ("sendMessage", "sendPhoto") and str(r.params.get("chat_id")) == str(chat_id)
    ]


def stat_reads(smsc: SmscEmulator, since: int = 0) -> int:
    """The account's own statistics read from SMSC (get.php get_stat), one a day of the chart."""
    return sum(1 for r in smsc.requests[since:] if r.path == "/sys/get.php")


async def following(telegram: FakeTelegram, threshold: str = "500") -> FakeUser:
    """A logged-in user alerted below ``threshold``."""
    user = telegram.user()
    await login(user)
    await set_threshold(user, threshold)
    return user


async def count(bot: RunningBot, sql: str, *params: object) -> int:
    assert bot.app is not None
    rows = await bot.app.database.fetchall(sql, params)
    return int(next(iter(rows))[0])


async def team_alerted(telegram: FakeTelegram) -> tuple[FakeUser, FakeUser]:
    """An owner and a viewer of one account, each alerted below 500."""
    owner, viewer = telegram.user(), telegram.user(1002, "Vera")
    await team_of(telegram, owner, Viewer=viewer)
    await set_threshold(owner, "500")
    await set_threshold(viewer, "500")
    return owner, viewer


async def set_threshold(user: FakeUser, amount: str) -> None:
    await user.send("/notify")
    card = await user.expect_message()
    assert "Low balance: off" in card.text
    await user.press(card, "Low balance")
    assert "Send the amount" in (await user.expect_message()).text
    await user.send(amount)
    assert "Low balance: below" in (await user.expect_message()).text


async def test_low_balance_alert_fires_once_and_rearms_after_recovery(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    clock: time_machine.Coordinates,
) -> None:
    user = await following(fake_telegram)

    await rounds(bot, clock, POLL)
    await set_balance(smsc, "420.50")
    await rounds(bot, clock, POLL)
    alert = await user.expect_message()
    assert "420.50" in alert.text and "below" in alert.text and "500.00" in alert.text
    await user.press(alert, "Settings")
    assert "Low balance: below" in (await user.expect_message()).text

    # Still below, then just above the threshold but under its 10 %: no second alert.
    await rounds(bot, clock, 2 * POLL)
    await set_balance(smsc, "540")
    await rounds(bot, clock, POLL)
    await set_balance(smsc, "100")
    await rounds(bot, clock, POLL)
    await user.assert_no_reply(timeout=1)

    # Back above threshold + 10 %: re-armed; the next crossing alerts again.
    await set_balance(smsc, "560")
    await rounds(bot, clock, POLL)
    await set_balance(smsc, "90")
    await rounds(bot, clock, POLL)
    assert "90.00" in (await user.expect_message()).text
    await user.assert_no_reply(timeout=1)


async def test_an_api_key_accounts_notifications_read_right_in_russian(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, clock: Clock
) -> None:
    """An account logged in by API key has no login to name: the Russian phrase that stands for
    it is not declined into "по аккаунту аккаунт …" or "Баланс аккаунта аккаунт …"."""
    smsc.add_account("keyed", "Keyed-Password-1", apikey="keyed-api-key-77")
    user = fake_telegram.user(language_code="ru")
    await user.send("/login apikey keyed-api-key-77")
    await user.expect_message()
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Низкий баланс")
    await user.expect_message()
    await user.send("500")
    texts = [(await user.expect_message()).text]
    await rounds(bot, clock, POLL)
    await control(smsc, "balance", login="keyed", balance="100")
    await rounds(bot, clock, POLL)
    texts.append((await user.expect_message()).text)
    assert "API-ключ" in texts[0] and "API-ключ" in texts[1], texts
    for text in texts:
        assert not re.search(r"аккаунт[а-я]* аккаунт", text), text


async def test_sender_status_change_is_reported_once(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    clock: time_machine.Coordinates,
) -> None:
    seed_sender(smsc.accounts[LOGIN], "ShopNews", 0, mts_step=1, bee_step=0)
    user = fake_telegram.user()
    await login(user)
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Senders: turn on")
    assert "Sender name status at operators: on" in (await user.expect_edit()).text

    await rounds(bot, clock, 3600)  # the first read only learns the statuses
    await user.assert_no_reply(timeout=1)
    await control(smsc, "sender", login=LOGIN, sender="ShopNews", operator="mts_step", status="2")
    await rounds(bot, clock, 3600)
    change = await user.expect_message()
    assert "ShopNews" in change.text and "MTS" in change.text
    assert "approved by the operator" in change.text and "sent for registration" in change.text

    await rounds(bot, clock, 2 * 3600)
    await user.assert_no_reply(timeout=1)


async def daily_digest_asked(user: FakeUser) -> MessageView:
    """In Russian, /notify → Сводка → Каждый день: the settings card, the time asked next."""
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Сводка")
    await user.press(await user.expect_edit(), "Каждый день")
    await user.expect_edit()
    return card


async def digest_at_nine(telegram: FakeTelegram, zone: str) -> FakeUser:
    """A logged-in user with a daily digest at 09:00 in ``zone``."""
    user = telegram.user()
    await login(user)
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Time zone")
    zones = await user.expect_edit()
    await user.press(zones, "Another zone")
    assert "Europe/Berlin" in (await user.expect_message()).text
    await user.send(zone)
    assert zone in (await user.expect_message()).text
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Digest")
    await user.press(await user.expect_edit(), "Daily")
    await user.press(await user.expect_edit(), "09:00")
    assert "daily at 09:00" in (await user.expect_edit()).text
    return user


async def test_daily_digest_comes_at_local_time_across_dst(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "shop", 0, LedgerEntry(date(2026, 3, 6), "SMS", sms=120, credit=D300))
    seed_subclient(account, "cafe", 0, LedgerEntry(date(2026, 3, 6), "SMS", sms=40, credit=D100))
    # The account's own totals (get.php get_stat), which the digest reports.
    account.ledger.append(LedgerEntry(date(2026, 3, 6), "SMS", sms=175, credit=Decimal("420")))
    # New York moves its clocks forward on Sunday 8 March 2026: 09:00 is 14:00 UTC on
    # Saturday and 13:00 UTC on Sunday.
    with time_machine.travel(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), tick=True) as clock:
        user = await digest_at_nine(fake_telegram, "America/New_York")
        note = notifier(bot)

        # A minute before, the figures are read (and the chart drawn) ahead; nothing is sent.
        clock.move_to(datetime(2026, 3, 7, 13, 59, tzinfo=UTC))
        since = len(smsc.requests)
        await note.tick()
        await user.assert_no_reply(timeout=1)
        clock.move_to(datetime(2026, 3, 7, 14, 0, 5, tzinfo=UTC))
        await note.tick()
        digest = await user.expect_message()
        # The chart of the week as a photo, the key numbers in its caption.
        assert digest.photo is not None and digest.text is not None
        assert "Mar 6, 2026" in digest.text and "Sent 175 messages, spent 420" in digest.text
        assert "shop" in digest.text and "late" not in digest.text
        assert stat_reads(smsc, since) == 7  # the week's days, read once and kept

        clock.move_to(datetime(2026, 3, 8, 12, 59, tzinfo=UTC))
        since = len(smsc.requests)
        await note.tick()
        await user.assert_no_reply(timeout=1)
        clock.move_to(datetime(2026, 3, 8, 13, 0, 5, tzinfo=UTC))
        await note.tick()
        second = await user.expect_message()
        assert second.photo is not None and second.text is not None
        assert "Mar 7, 2026" in second.text and "Nothing was sent" in second.text
        assert stat_reads(smsc, since) == 1  # only the new day: the others were kept
        await note.tick()
        await user.assert_no_reply(timeout=1)


async def test_a_weekly_digest_names_its_week_and_change_as_each_language_writes(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """On Monday at the chosen time, last week against the one before: the week as one range
    (the year once), and the change in per cent as English ("+75%") and Russian ("+75 %") write
    it."""
    account = smsc.accounts[LOGIN]
    account.ledger.append(LedgerEntry(date(2026, 3, 4), "SMS", sms=175, credit=Decimal("420")))
    account.ledger.append(LedgerEntry(date(2026, 2, 25), "SMS", sms=100, credit=Decimal("300")))
    with time_machine.travel(datetime(2026, 3, 5, 12, 0, tzinfo=UTC), tick=True) as clock:
        anna = fake_telegram.user()
        ivan = fake_telegram.user(1002, "Иван", language_code="ru")
        for user, labels in ((anna, ("Digest", "Weekly")), (ivan, ("Сводка", "Раз в неделю"))):
            await login(user, expect=None)
            await user.send("/notify")
            await user.press(await user.expect_message(), labels[0])
            await user.press(await user.expect_edit(), labels[1])
            await user.press(await user.expect_edit(), "09:00")
            await user.expect_edit()
        clock.move_to(datetime(2026, 3, 9, 6, 0, 5, tzinfo=UTC))  # Monday, 09:00 in Moscow
        await notifier(bot).tick()
        english, russian = (await anna.expect_message()).text, (await ivan.expect_message()).text
    assert english.splitlines()[0].count("2026") == 1, english
    assert "Week Mar 2" in english and "messages +75%, money spent +40%" in english
    assert russian.splitlines()[0].count("2026") == 1, russian
    assert "Неделя 2" in russian and "сообщений +75\u00a0%, потрачено +40\u00a0%" in russian


async def test_digest_due_during_a_restart_is_sent_once_and_late(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    with time_machine.travel(datetime(2026, 3, 4, 7, 0, tzinfo=UTC), tick=True) as clock:
        user = await digest_at_nine(fake_telegram, "Europe/Berlin")  # 08:00 UTC

        # Due, queued, but Telegram fails the send: the bot stops with it undelivered.
        fake_telegram.fail_next("sendPhoto", status=500)
        clock.move_to(datetime(2026, 3, 4, 8, 0, 5, tzinfo=UTC))
        await notifier(bot).tick()
        await fake_telegram.wait_for_request("sendPhoto")
        await bot.restart()
        digest = await user.expect_message(timeout=15)
        assert "Mar 3, 2026" in digest.text and "late" not in digest.text
        await notifier(bot).tick()
        await user.assert_no_reply(timeout=1)

        # The next day's falls due while the bot is down: sent once when it is back, late.
        await bot.stop()
        clock.move_to(datetime(2026, 3, 5, 10, 0, tzinfo=UTC))
        await bot.start()
        await notifier(bot).tick()
        await notifier(bot).outbox.idle()
        late = await user.expect_message()
        assert "Mar 4, 2026" in late.text and "late" in late.text
        await notifier(bot).tick()
        await user.assert_no_reply(timeout=1)
        assert sum("Mar 4, 2026" in text for text in sent_to(fake_telegram, user.chat.id)) == 1


async def test_a_digest_is_prepared_ahead_and_at_its_time_only_sent(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    gate = threading.Event()
    try:
        with time_machine.travel(datetime(2026, 3, 4, 7, 0, tzinfo=UTC), tick=True) as clock:
            user = await digest_at_nine(fake_telegram, "Europe/Berlin")  # 08:00 UTC
            note = notifier(bot)
            # Ten minutes before: the period is over, its figures are read and its chart drawn.
            clock.move_to(datetime(2026, 3, 4, 7, 50, tzinfo=UTC))
            since = len(smsc.requests)
            await note.tick()
            await note.outbox.ahead_ready()
            assert stat_reads(smsc, since) == 7
            await user.assert_no_reply(timeout=1)

            # At its time the charts thread is busy (another chart, say): the digest is not
            # held by it, nor read again from SMSC.
            charts._executor.submit(gate.wait)
            clock.move_to(datetime(2026, 3, 4, 8, 0, 5, tzinfo=UTC))
            since = len(smsc.requests)
            await note.tick()
            digest = await user.expect_message(timeout=5)
            assert digest.photo is not None and digest.text is not None
            assert "Mar 3, 2026" in digest.text and "late" not in digest.text
            assert len(smsc.requests) == since
            gate.set()

            # Prepared, then a restart before its time: drawn at the send, sent once, on time.
            clock.move_to(datetime(2026, 3, 5, 7, 50, tzinfo=UTC))
            await notifier(bot).tick()
            await bot.restart()
            clock.move_to(datetime(2026, 3, 5, 8, 0, 5, tzinfo=UTC))
            await notifier(bot).tick()
            second = await user.expect_message()
            assert second.photo is not None and second.text is not None
            assert "Mar 4, 2026" in second.text and "late" not in second.text
            await notifier(bot).tick()
            await user.assert_no_reply(timeout=1)
            assert sum("Mar 4, 2026" in t for t in sent_to(fake_telegram, user.chat.id)) == 1
    finally:
        gate.set()


async def test_a_digest_prepared_ahead_comes_in_the_language_chosen_since(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    with time_machine.travel(datetime(2026, 3, 4, 7, 0, tzinfo=UTC), tick=True) as clock:
        user = await digest_at_nine(fake_telegram, "Europe/Berlin")
        note = notifier(bot)
        clock.move_to(datetime(2026, 3, 4, 7, 50, tzinfo=UTC))
        await note.tick()
        await note.outbox.ahead_ready()
        # Prepared in English; the chat switches to Russian before it is due.
        await user.send("/lang")
        await user.press(await user.expect_message(), "Русский")
        assert has_cyrillic((await user.expect_edit()).text)
        clock.move_to(datetime(2026, 3, 4, 8, 0, 5, tzinfo=UTC))
        await note.tick()
        digest = await user.expect_message(timeout=5)
        assert digest.text is not None and has_cyrillic(digest.text)
        assert "Mar 3, 2026" not in digest.text


async def test_a_digest_whose_photo_is_refused_comes_as_text(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    with time_machine.travel(datetime(2026, 3, 4, 7, 0, tzinfo=UTC), tick=True) as clock:
        user = await digest_at_nine(fake_telegram, "Europe/Berlin")
        fake_telegram.fail_next(
            "sendPhoto", status=400, description="Bad Request: PHOTO_INVALID_DIMENSIONS"
        )
        clock.move_to(datetime(2026, 3, 4, 8, 0, 5, tzinfo=UTC))
        await notifier(bot).tick()
        digest = await user.expect_message()
        assert digest.photo is None and digest.text is not None
        assert "Mar 3, 2026" in digest.text and "Settings" in digest.button_texts


async def test_fifty_chats_on_one_account_cost_one_balance_read_per_interval(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    clock: time_machine.Coordinates,
) -> None:
    users = [fake_telegram.user(2000 + n) for n in range(50)]
    await login(users[0])
    await set_threshold(users[0], "500")
    assert bot.app is not None
    first = await bot.app.accounts.repo.get(users[0].chat.id)
    assert first is not None
    # The same log-in saved in 49 more chats (a /login each would meet the client's own limit
    # of 9 balance reads a minute), each following the account with its own /notify setting.
    for user in users[1:]:
        account = replace(first, chat_id=user.chat.id, id=0, owner_id=None, seal=0)
        account = await bot.app.accounts.repo.save(account, new=True)
        await notifier(bot).change(user.chat.id, account, "balance", True, param="500.00")
    await rounds(bot, clock, POLL)
    since = len(smsc.requests)
    await set_balance(smsc, "10")
    await rounds(bot, clock, 3 * POLL)
    assert balance_reads(smsc, since) == 3
    for user in users:
        assert "below" in (await user.expect_message()).text


async def test_a_chat_that_blocked_the_bot_is_dropped_and_stays_so_across_a_restart(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    clock: time_machine.Coordinates,
) -> None:
    user = await following(fake_telegram)
    user.block()
    await set_balance(smsc, "100")
    await rounds(bot, clock, POLL)
    attempts = len(sent_to(fake_telegram, user.chat.id))
    assert await count(bot, "SELECT count(*) FROM notify_subs WHERE chat_id = ?", user.chat.id) == 0
    # Recovered and crossed again: nobody is told, and nothing is tried.
    await set_balance(smsc, "900")
    await rounds(bot, clock, POLL)
    await set_balance(smsc, "100")
    await rounds(bot, clock, 2 * POLL)
    assert len(sent_to(fake_telegram, user.chat.id)) == attempts

    # Remembered across a restart: whatever is queued for it afterwards is not tried.
    await bot.restart()
    alert = {"kind": "balance", "balance": "90", "currency": "RUB", "threshold": "500"}
    await notifier(bot).outbox.put(user.chat.id, {**alert, "login": LOGIN})
    await notifier(bot).outbox.idle()
    assert len(sent_to(fake_telegram, user.chat.id)) == attempts
    # Switching a notification on again (the chat talks to the bot) is the way back.
    user.unblock()
    await set_threshold(user, "500")
    await set_balance(smsc, "900")
    await rounds(bot, clock, POLL)
    await set_balance(smsc, "100")
    await rounds(bot, clock, POLL)
    assert "below" in (await user.expect_message()).text


async def test_refused_credentials_are_not_polled_and_the_owner_is_told_once(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    clock: time_machine.Coordinates,
) -> None:
    user = await following(fake_telegram)
    smsc.accounts[LOGIN].password = PASSWORD + "-changed"
    await user.send("/balance")
    assert "refused" in (await user.expect_message()).text
    since = len(smsc.requests)
    await rounds(bot, clock, 3 * POLL)
    assert smsc.requests[since:] == []
    told = await user.expect_message()
    assert "no longer accepts" in told.text and "/login" in told.text
    await rounds(bot, clock, 3 * POLL)
    await user.assert_no_reply(timeout=1)


async def test_flood_control_is_waited_out_and_a_log_out_stops_notifications(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, clock: Clock
) -> None:
    user = await following(fake_telegram)
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    await set_balance(smsc, "100")
    await rounds(bot, clock, POLL)
    assert "below" in (await user.expect_message()).text

    await user.send("/logout")
    await user.press(await user.expect_message(), "Yes")
    await user.expect_edit()
    assert await count(bot, "SELECT count(*) FROM notify_subs") == 0
    await set_balance(smsc, "900")
    await rounds(bot, clock, POLL)
    await set_balance(smsc, "100")
    since = len(smsc.requests)
    await rounds(bot, clock, 2 * POLL)
    assert smsc.requests[since:] == []
    await user.assert_no_reply(timeout=1)


async def test_polls_wait_while_the_budget_holds_a_failure(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, clock: Clock
) -> None:
    user = await following(fake_telegram)
    # After a restart the saved password is not yet proven; someone mistypes theirs meanwhile.
    await bot.restart()
    await login(fake_telegram.user(1002, "Boris"), "wrong-password", expect=None)
    await set_balance(smsc, "100")
    since = len(smsc.requests)
    await rounds(bot, clock, 2 * POLL)
    assert balance_reads(smsc, since) == 0
    await user.assert_no_reply(timeout=1)
    # Once that failure is 30 minutes old, polling goes on.
    await rounds(bot, clock, 30 * 60)
    assert balance_reads(smsc, since) >= 1
    assert "below" in (await user.expect_message()).text


async def test_a_chat_logged_in_to_another_account_hears_nothing_of_the_old(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, clock: Clock
) -> None:
    smsc.add_account("bob", PASSWORD)
    anna, boris = fake_telegram.user(), fake_telegram.user(1002, "Boris")
    await login(anna)
    await login(boris)
    await set_threshold(anna, "500")
    await set_threshold(boris, "500")
    await boris.send(f"/login bob {PASSWORD}")
    assert "Logged in" in (await boris.expect_message()).text
    await set_balance(smsc, "100")
    await rounds(bot, clock, POLL)
    assert "below" in (await anna.expect_message()).text
    await boris.assert_no_reply(timeout=1)


async def test_bad_input_is_explained_and_changes_nothing(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(language_code="ru")
    await login(user, expect=None)
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Низкий баланс")
    await user.expect_message()
    await user.send("пятьсот")
    assert "не похоже на сумму" in (await user.expect_message()).text
    await user.send("/notify")
    card = await user.expect_message()
    assert "Низкий баланс: выключено" in card.text
    await user.press(card, "Часовой пояс")
    await user.press(await user.expect_edit(), "Другой пояс")
    await user.expect_message()
    await user.send("Mars/Olympus")
    assert "не знаю" in (await user.expect_message()).text
    await user.send("/cancel")
    await user.expect_message()
    card = await daily_digest_asked(user)
    assert "Часовой пояс: Москва" in card.text
    await user.send("25:00")
    assert "не похоже на время" in (await user.expect_message()).text
    await user.send("/notify")
    assert "Сводка отправленного и потраченного: выключено" in (await user.expect_message()).text


async def test_a_time_or_amount_in_odd_digits_is_explained_not_an_incident(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """Superscripts and circled digits count as digits to str.isdigit but not to int()."""
    user = fake_telegram.user(language_code="ru")
    await login(user, expect=None)
    await daily_digest_asked(user)
    for typed in ("²", "9:³⁰", "①⓪"):
        await user.send(typed)
        assert "не похоже на время" in (await user.expect_message()).text, typed
    await user.send("/notify")
    card = await user.expect_message()
    assert "Сводка отправленного и потраченного: выключено" in card.text
    await user.press(card, "Низкий баланс")
    await user.expect_message()
    await user.send("⁵⁰⁰")
    assert "не похоже на сумму" in (await user.expect_message()).text
    await user.send("1 000,50")
    assert "Низкий баланс: ниже 1\u00a0000,50" in (await user.expect_message()).text


async def test_a_threshold_is_read_as_each_language_writes_amounts(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """The bot shows "1,000.00" in English and "1 000,00" in Russian: typed back that way, the
    amount is a thousand, never one; what is ambiguous in a language is asked again."""

    async def typed(user: FakeUser, amount: str) -> str:
        await user.send("/notify")
        label = "Низкий баланс" if user.json.get("language_code") == "ru" else "Low balance"
        await user.press(await user.expect_message(), label)
        await user.expect_message()
        await user.send(amount)
        return (await user.expect_message()).text

    anna = fake_telegram.user()
    await login(anna)
    await anna.send("/notify")
    await anna.press(await anna.expect_message(), "Low balance")
    assert "been 10% above it" in (await anna.expect_message()).text  # as English writes it
    await anna.send("/cancel")
    await anna.expect_message()
    assert "Low balance: below 1,000.00" in await typed(anna, "1,000")
    assert "Low balance: below 1,000.50" in await typed(anna, "1,000.50")
    assert "Low balance: below 12,500.00" in await typed(anna, "12 500")
    ivan = fake_telegram.user(1002, "Иван", language_code="ru")
    await login(ivan, expect=None)
    assert "Низкий баланс: ниже 1\u00a0000,50" in await typed(ivan, "1\u202f000,50")
    assert "Низкий баланс: ниже 1\u00a0000,50" in await typed(ivan, "1,000.50")
    assert "не похоже на сумму" in await typed(ivan, "1,000")
    await ivan.send("/cancel")
    await ivan.expect_message()
    await ivan.send("/notify")
    assert "Низкий баланс: ниже 1\u00a0000,50" in (await ivan.expect_message()).text


async def test_a_time_zone_typed_in_lower_case_is_known(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """Phones do not capitalise "europe/berlin": the bot knows that zone, and keeps its name."""
    user = fake_telegram.user()
    await login(user)
    await user.send("/notify")
    await user.press(await user.expect_message(), "Time zone")
    await user.press(await user.expect_edit(), "Another zone")
    await user.expect_message()
    await user.send(" europe/berlin ")
    assert "Time zone: Europe/Berlin" in (await user.expect_message()).text
    await bot.restart()
    await user.send("/notify")
    assert "Time zone: Europe/Berlin" in (await user.expect_message()).text


async def test_turning_off_low_balance_and_the_digest_stops_them(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Coverage of issue 15's "switch each kind on or off" for the two kinds whose Turn off sits
    on their own step (no regression: it worked when checked)."""
    with time_machine.travel(datetime(2026, 3, 4, 7, 0, tzinfo=UTC), tick=True) as clock:
        user = await digest_at_nine(fake_telegram, "Europe/Berlin")  # 08:00 UTC
        await set_threshold(user, "500")
        await user.send("/notify")
        await user.press(await user.expect_message(), "Low balance")
        await user.press(await user.expect_message(), "Turn off")
        assert "Low balance: off" in (await user.expect_edit()).text
        await user.send("/notify")
        await user.press(await user.expect_message(), "Digest")
        await user.press(await user.expect_edit(), "Turn off")
        assert "Digest of what was sent and spent: off" in (await user.expect_edit()).text
        await set_balance(smsc, "100")
        clock.move_to(datetime(2026, 3, 4, 8, 0, 5, tzinfo=UTC))
        await rounds(bot, clock, 2 * POLL)
        await user.assert_no_reply(timeout=1)


async def _watch_and_subs(bot: RunningBot, chat_id: int) -> tuple[set[str], dict[str, bool]]:
    assert bot.app is not None
    account = await bot.app.accounts.repo.get(chat_id)
    assert account is not None
    identity = bot.app.accounts.identity(account)
    repo = notifier(bot).repo
    subs = await repo.subs_of(chat_id, identity)
    return await repo.watched(identity), {kind: sub.enabled for kind, sub in subs.items()}


async def test_a_viewer_cannot_change_what_the_account_watches(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    owner = fake_telegram.user()
    viewer = fake_telegram.user(1002, "Vera", language_code="ru")
    await login(owner)
    await join(viewer, await invite(owner, "Viewer"), expect="Вы в команде")
    await viewer.send("/notify")
    card = await viewer.expect_message()

    async def refused(message: MessageView, label: str) -> None:
        # An alert on the button, as every role refusal is; no message in the chat.
        answer = await answer_of(fake_telegram, viewer, await viewer.press(message, label))
        assert answer.show_alert, answer
        assert "Ваша роль в команде («наблюдатель») этого не позволяет" in (answer.text or "")

    await refused(card, "Имена: включить")
    await refused(card, "Низкий баланс")
    await viewer.press(card, "Сводка")
    await refused(await viewer.expect_edit(), "Каждый день")
    await viewer.assert_no_reply(timeout=1, edits=False)
    assert await _watch_and_subs(bot, viewer.chat.id) == (set(), {})


async def test_a_viewer_switches_receiving_what_an_admin_watches(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    owner, viewer = fake_telegram.user(), fake_telegram.user(1002, "Vera")
    await team_of(fake_telegram, owner, Viewer=viewer)
    await owner.send("/notify")
    await owner.press(await owner.expect_message(), "Senders: turn on")
    assert "Sender name status at operators: on" in (await owner.expect_edit()).text

    await viewer.send("/notify")
    card = await viewer.expect_message()
    await viewer.press(card, "Senders: turn on")
    assert "Sender name status at operators: on" in (await viewer.expect_edit()).text
    assert await _watch_and_subs(bot, viewer.chat.id) == ({"senders"}, {"senders": True})
    await viewer.press(card, "Senders: turn off")
    assert "Sender name status at operators: off" in (await viewer.expect_edit()).text
    # Receiving stopped for the viewer only: the account is still watched, the owner still hears.
    assert await _watch_and_subs(bot, viewer.chat.id) == ({"senders"}, {"senders": False})
    assert (await _watch_and_subs(bot, owner.chat.id))[1] == {"senders": True}


async def test_an_admin_stops_watching_a_kind_for_the_whole_team(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, clock: Clock
) -> None:
    owner, viewer = await team_alerted(fake_telegram)
    await owner.send("/notify")
    await owner.press(await owner.expect_message(), "For the whole team")
    team = await owner.expect_edit()
    assert "Low balance: on" in team.text
    await owner.press(team, "Stop: low balance")
    team = await owner.expect_edit()
    assert "Low balance: off" in team.text and "Stop: low balance" not in team.button_texts
    await owner.press(team, "Back")
    back = await owner.expect_edit()
    assert "Low balance: off" in back.text and "⬅ Menu" in back.button_texts

    # Nobody is alerted, and the balance is not read for it any more.
    since = len(smsc.requests)
    await set_balance(smsc, "100")
    await rounds(bot, clock, 3 * POLL)
    assert balance_reads(smsc, since) == 0
    await owner.assert_no_reply(timeout=1)
    await viewer.assert_no_reply(timeout=1)
    # The viewer's choice is kept, but only an admin starts it again.
    await viewer.send("/notify")
    card = await viewer.expect_message()
    assert "Low balance: off" in card.text and "For the whole team" not in card.button_texts
    answer = await answer_of(fake_telegram, viewer, await viewer.press(card, "Low balance"))
    assert answer.show_alert


async def test_a_disconnected_account_is_forgotten_and_never_polled(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, clock: Clock
) -> None:
    owner, viewer = await team_alerted(fake_telegram)
    # The owner disconnects the account for everyone: the viewer's settings name it still.
    await owner.send("/logout")
    await owner.press(await owner.expect_message(), "Yes")
    await owner.expect_edit()
    await set_balance(smsc, "100")
    since = len(smsc.requests)
    await rounds(bot, clock, 3 * POLL)
    assert smsc.requests[since:] == []
    await viewer.assert_no_reply(timeout=1)
    for table in ("notify_subs", "notify_watch", "notify_accounts"):
        assert await count(bot, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608


async def test_every_notify_step_with_buttons_leads_back(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 13, item 5: no dead end. The digest's choice, its time and the time zones each
    have "Back" to the settings, and going back ends the step that waited for a typed time."""
    user = fake_telegram.user(7801)
    await login(user)
    await user.send("/notify")
    card = await user.expect_message()
    await user.press(card, "Digest")
    choice = await user.expect_edit()
    assert "Back" in choice.button_texts
    await user.press(choice, "Daily")
    times = await user.expect_edit()
    assert "Back" in times.button_texts
    await user.press(times, "Back")
    assert "Time zone" in (await user.expect_edit()).button_texts
    await user.send("09:30")  # the step is over: not taken as the digest's time
    await user.expect_message()
    assert "digest" not in (await _watch_and_subs(bot, user.id))[1]
    await user.press(card, "Time zone")
    zones = await user.expect_edit()
    assert "Back" in zones.button_texts
    await user.press(zones, "Another zone")
    assert "/cancel" in (await user.expect_message()).text  # a typed step says how to leave it
    await user.press(zones, "Back")
    settings = await user.expect_edit()
    assert "Digest" in settings.button_texts
    await user.press(settings, "Low balance")
    assert "/cancel" in (await user.expect_message()).text
