"""The three common jobs, counted as a person does them (issue 13): only the user's own messages
and taps count, from home (the /start or /menu screen) or from nothing.

| job                                        | target                     |
|--------------------------------------------|----------------------------|
| block a number someone complained about    | paste the number + 1 tap   |
| check the balance                          | 1 tap from home            |
| this month's subclient statistics          | 2 taps from home           |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import LedgerEntry
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser, MessageView


@dataclass
class Counted:
    """A user whose messages and taps are counted."""

    user: FakeUser
    messages: int = 0
    taps: int = 0

    async def send(self, text: str) -> None:
        self.messages += 1
        await self.user.send(text)

    async def press(self, message: MessageView, label: str) -> None:
        self.taps += 1
        await self.user.press(message, label)


async def home(user: FakeUser) -> MessageView:
    """The home screen (not counted: it is where the jobs start)."""
    await user.send("/start")
    return await user.expect_message()


@pytest.mark.parametrize(("language", "block"), [("en", "⛔ Block"), ("ru", "⛔ Заблокировать")])
async def test_block_a_number_someone_complained_about(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, language: str, block: str
) -> None:
    user = fake_telegram.user(9201 if language == "en" else 9202, language_code=language)
    await login(user, expect=None)
    person = Counted(user)
    await person.send("+7 916 555-00-11")
    card = await user.expect_message()
    await person.press(card, block)
    blocked = await user.expect_edit()
    assert "+7 916 555-00-11" in blocked.text
    assert [(e.phone, e.type) for e in smsc.accounts[LOGIN].black.values()] == [("79165550011", 0)]
    assert (person.messages, person.taps) == (1, 1)


async def test_check_the_balance(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(9203)
    await login(user)
    screen = await home(user)
    person = Counted(user)
    await person.press(screen, "💰 Balance")
    balance = await user.expect_edit()
    assert "Balance: <b>1,000.00\xa0₽</b>" in (balance.source or "")
    assert (person.messages, person.taps) == (0, 1)


async def test_this_months_subclient_statistics(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    today = date.today()
    seed_subclient(
        smsc.accounts[LOGIN],
        "alpha",
        0,
        LedgerEntry(today, "Отправка SMS", "МТС", "25001", 10, credit=Decimal("21.50")),
    )
    user = fake_telegram.user(9204)
    await login(user)
    screen = await home(user)
    person = Counted(user)
    await person.press(screen, "📊 Statistics")
    periods = await user.expect_edit()
    await person.press(periods, "This month")
    table = await user.expect_edit()
    assert "alpha: 10 messages, spent 21.50\xa0₽" in table.text
    assert "⬅ Menu" in table.button_texts  # a way home from the result too
    assert (person.messages, person.taps) == (0, 2)


@pytest.mark.parametrize(
    ("uid", "language", "label", "shows"),
    [
        (9211, "en", "🔔 Notifications", "<b>Notifications</b>"),
        (9212, "ru", "🤝 Команда", "Ваша роль"),
        (9213, "en", "🤝 Team", "Your role: owner"),
    ],
)
async def test_notifications_and_team_are_one_tap_from_home(
    bot: RunningBot, fake_telegram: FakeTelegram, uid: int, language: str, label: str, shows: str
) -> None:
    user = fake_telegram.user(uid, language_code=language)
    await login(user, expect=None)
    screen = await home(user)
    await user.press(screen, label)
    shown = await user.expect_edit()
    assert shows in (shown.source or "")
    assert any(b.text in ("⬅ Menu", "⬅ Меню") for row in shown.buttons for b in row)


@pytest.mark.parametrize("reseller", [False, True])
async def test_home_offers_subclients_only_to_a_reseller(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, reseller: bool
) -> None:
    """Issue 13 says "subclients (resellers)": an account without subclients has no such job."""
    if reseller:
        seed_subclient(smsc.accounts[LOGIN], "alpha")
    user = fake_telegram.user(9221 if reseller else 9222)
    await login(user)
    for _ in range(4):  # home again and again: SMSC is asked at most once
        screen = await home(user)
        assert ("👥 Subclients" in screen.button_texts) is reseller
        assert "📊 Statistics" in screen.button_texts
    assert len([r for r in smsc.requests if r.params.get("get_stat")]) <= 2


async def test_home_does_not_wait_for_a_slow_smsc_to_decide_on_subclients(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(9223)
    await login(user)
    smsc.slow_seconds = 60.0
    smsc.fault = "slow"
    try:
        await user.send("/start")
        # Far sooner than SMSC answers (or the client gives up): the way in is kept while unknown.
        screen = await user.expect_message(timeout=5)
        assert "👥 Subclients" in screen.button_texts
    finally:
        smsc.fault = None
