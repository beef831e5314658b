"""Confirmations end to end: a Yes is a server-side record used at most once, whoever taps it,
never without a question shown, never after No, after expiry or after a kill left it unsettled.

Each test is a finding of issue 9 (section 2) that paid or deleted on the code before records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import time_machine

from bot.services.confirmations import ConfirmationService, account_key
from bot.smsc import Site
from bot.smsc.emulator import SmscEmulator
from bot.storage.accounts import Account
from bot.storage.confirmations import Confirmation
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, payments, seed_contact, seed_subclient
from tests.e2e.test_teams import answer_of, in_group, invite, join, link_group
from tests.support.botapi import Chat, FakeTelegram, FakeUser, MessageView

OUT_OF_DATE = "This question is out of date. Nothing was done."
UNKNOWN = "Whether SMSC carried this out is unknown"


def deletes(smsc: SmscEmulator) -> list[dict[str, str]]:
    return [
        dict(r.params)
        for r in smsc.requests
        if r.path == "/sys/phones.php" and r.params.get("del") == "1"
    ]


def confirmations(bot: RunningBot) -> ConfirmationService:
    assert bot.app is not None
    service = bot.app.dp["confirmations"]
    assert isinstance(service, ConfirmationService)
    return service


async def ask_top_up(user: FakeUser, login: str, amount: str) -> MessageView:
    """The top-up question, asked the way a user gets it: the card's Top up, then the amount."""
    await user.press_data(2, f"sca:pay:{login}")
    await user.expect_message()
    await user.send(amount)
    question = await user.expect_message()
    assert "from your balance to" in (question.text or "")
    return question


def yes_data(question: MessageView, label: str = "Yes, top up") -> str:
    data = question.button(label).callback_data
    assert data is not None and data.startswith("cf:")
    return data


def record_id(question: MessageView, label: str = "Yes, top up") -> str:
    return yes_data(question, label).split(":")[1]


async def test_three_people_tapping_one_yes_pay_once(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sub = seed_subclient(smsc.accounts[LOGIN], "shop")
    # A group chat logged in to one account, where everyone sees the same question.
    group = Chat(-4001, {"id": -4001, "type": "group", "title": "Shop team"})
    fake_telegram.chats[group.id] = group
    people = [
        FakeUser(
            fake_telegram,
            {"id": 8001 + n, "is_bot": False, "first_name": f"P{n}", "language_code": "en"},
            group,
        )
        for n in range(3)
    ]
    assert bot.app is not None
    saved = await bot.app.accounts.repo.save(
        Account(
            chat_id=group.id,
            site=Site.RU.value,
            login=LOGIN,
            auth_kind="password",
            secret=PASSWORD,
            verified_at=datetime.now(UTC),
        ),
        owner_id=people[0].id,
    )
    # Linked with the role admin: each of them may answer the others' questions (teams: issue 12).
    await bot.app.accounts.teams.repo.link(group.id, saved.id, "admin", people[0].id)
    asker = people[0]
    await asker.send("/subclients")
    listing = await asker.expect_message()
    await asker.press(listing, "shop")
    await asker.press(await asker.expect_edit(), "Top up")
    await asker.expect_message()
    # In a group, the step's prompt to answer with a reply (privacy mode).
    await asker.expect_message()
    await asker.send("100")
    question = await asker.expect_message()
    yes = yes_data(question)
    for person in people:
        await person.press_data(question.message_id, yes)
    await fake_telegram.drained()
    assert len(payments(smsc)) == 1
    assert sub.balance == Decimal("100.00")
    texts = [e.message.text or "" for e in group.events if e.kind == "edit" and e.message]
    assert sum("shop got 100.00\xa0₽" in t for t in texts) == 1
    # The third tap's answer is the same text again: Telegram leaves the message as it is.
    assert sum("already confirmed and done" in t for t in texts) == 1
    answered = [e.answer for e in group.events if e.kind == "callback_answer" and e.answer]
    assert len([a for a in answered if a.data == yes]) == 3


async def test_a_forged_yes_without_a_question_pays_nothing(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8101)
    await login(user)
    # The old button format carried the whole payment; a made-up id; another chat's question.
    other = fake_telegram.user(8102)
    await login(other)
    theirs = await ask_top_up(other, "sub", "5")
    for forged in ("ok:scpay:sub|999.99:1", "cf:AAAAAAAAAAAAAAAA:1", yes_data(theirs)):
        await user.press_data(2, forged)
        answer = await user.expect_callback_answer()
        assert answer.text == OUT_OF_DATE, forged
    await user.assert_no_reply()
    assert payments(smsc) == []
    assert smsc.accounts[LOGIN].balance == Decimal("1000.00")


async def test_no_then_yes_pays_nothing(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8103)
    await login(user)
    question = await ask_top_up(user, "sub", "10")
    yes = yes_data(question)
    await user.press(question, "No")
    assert "Nothing was moved" in ((await user.expect_edit()).text or "")
    await user.press_data(question.message_id, yes)
    assert "already answered with No" in ((await user.expect_edit()).text or "")
    assert payments(smsc) == []


async def test_a_confirmation_from_ten_days_ago_pays_nothing_after_a_restart(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8104)
    await login(user)
    question = await ask_top_up(user, "sub", "10")
    await bot.restart()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=10), tick=True):
        await user.press(question, "Yes, top up")
        assert "asked too long ago" in ((await user.expect_edit()).text or "")
    assert payments(smsc) == []


async def test_an_old_confirmation_pays_nothing_after_many_later_top_ups(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sub = seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8105)
    await login(user)
    first = await ask_top_up(user, "sub", "10")
    yes = yes_data(first)
    await user.press(first, "Yes, top up")
    await user.expect_edit()
    assert "sub got 10.00\xa0₽" in ((await user.expect_edit()).text or "")
    # 60 later top-ups, asked and used as the handler does. Through Telegram they would meet the
    # client's own limit of 9 balance reads a minute (each question shows the balance).
    service = confirmations(bot)
    assert bot.app is not None
    key = account_key(await bot.app.accounts.repo.get(user.chat.id))
    for n in range(60):
        later = await service.ask(
            chat_id=user.chat.id,
            account=key,
            action="scpay",
            payload={"login": "sub", "amount": f"{n + 1}.00", "currency": "RUB"},
            asked_by=user.id,
            ttl=900,
        )
        claimed = await service.claim(later, chat_id=user.chat.id, account=key, user_id=user.id)
        assert isinstance(claimed, Confirmation)
        assert await service.finish(later, "done")
    await bot.restart()
    await user.press_data(first.message_id, yes)
    assert "already confirmed and done" in ((await user.expect_edit()).text or "")
    assert len(payments(smsc)) == 1
    assert sub.balance == Decimal("10.00")


async def test_a_kill_between_the_claim_and_the_request_leaves_the_outcome_unknown(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """The bot died right after claiming (what the handler does first): the record is left
    claimed. A tap after the restart must not say "already made", nor pay: it says the outcome
    is unknown and offers a check, which shows that no money moved."""
    seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8106)
    await login(user)
    question = await ask_top_up(user, "sub", "10")
    assert bot.app is not None
    key = account_key(await bot.app.accounts.repo.get(user.chat.id))
    claimed = await confirmations(bot).claim(
        record_id(question), chat_id=user.chat.id, account=key, user_id=user.id
    )
    assert isinstance(claimed, Confirmation)
    await bot.restart()
    await user.press(question, "Yes, top up")
    answer = await user.expect_edit()
    assert UNKNOWN in (answer.text or "") and "already made" not in (answer.text or "")
    assert payments(smsc) == []
    await user.press(answer, "Check in SMSC")
    checked = (await user.expect_edit()).text or ""
    assert "Credited today: 0.00\xa0₽" in checked and "Your balance: 1,000.00\xa0₽" in checked


async def test_a_delete_tapped_twice_deletes_once_and_an_expired_one_not_at_all(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(8107)
    await login(user)
    await user.send("/addcontact +7 999 123-45-67 Vera")
    card = await user.expect_message()
    await user.press(card, "Delete")
    question = await user.expect_edit()
    yes = yes_data(question, "Yes, delete")
    await user.press(question, "Yes, delete")
    assert "is deleted" in ((await user.expect_edit()).text or "")
    await user.press_data(question.message_id, yes)
    assert "already confirmed and done" in ((await user.expect_edit()).text or "")
    assert len(deletes(smsc)) == 1

    await user.send("/addcontact +7 999 123-45-68 Ivan")
    card = await user.expect_message()
    await user.press(card, "Delete")
    question = await user.expect_edit()
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25), tick=True):
        await user.press(question, "Yes, delete")
        assert "asked too long ago" in ((await user.expect_edit()).text or "")
    assert len(deletes(smsc)) == 1
    assert [c.phones for c in smsc.accounts[LOGIN].contacts.values()] == [["79991234568"]]


async def test_a_question_asked_before_a_new_log_in_does_nothing(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Asked on one account, tapped after the chat logged in again (maybe to another one)."""
    seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8108)
    await login(user)
    question = await ask_top_up(user, "sub", "10")
    await login(user)
    await user.press(question, "Yes, top up")
    assert "before the chat logged in again" in ((await user.expect_edit()).text or "")
    assert payments(smsc) == []


async def test_a_top_up_that_never_reached_smsc_can_be_confirmed_again(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Connection refused: the request certainly never left, so the record is open again."""
    sub = seed_subclient(smsc.accounts[LOGIN], "sub")
    user = fake_telegram.user(8109)
    await login(user)
    question = await ask_top_up(user, "sub", "10")
    port = int(smsc.base_url.rsplit(":", 1)[1])
    await smsc.stop()
    try:
        await user.press(question, "Yes, top up")
        await user.expect_edit()
        refused = await user.expect_edit()
    finally:
        await smsc.start(port=port)
    assert "Nothing was changed. The same buttons work again." in (refused.text or "")
    await user.press(refused, "Yes, top up")
    await user.expect_edit()
    assert "sub got 10.00\xa0₽" in ((await user.expect_edit()).text or "")
    assert len(payments(smsc)) == 1 and sub.balance == Decimal("10.00")


async def test_a_delete_asked_by_one_operator_is_refused_to_another_with_an_alert(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Coverage (no regression: it held when checked): in a linked group, a question belongs to
    whoever asked it; another operator's tap is an alert in their language and sends nothing."""
    seed_contact(smsc, "79991234567", "Bob")
    owner = fake_telegram.user(9031, "Owner")
    asker = fake_telegram.user(9032, "Olga", language_code="ru")
    other = fake_telegram.user(9033, "Oleg", language_code="ru")
    await login(owner)
    for person in (asker, other):
        await join(person, await invite(owner, "Operator"), expect="Вы в команде")
    await link_group(fake_telegram, owner)
    asking = in_group(fake_telegram, asker)
    await asking.send("/contacts")
    await asking.press(await asking.expect_message(), "Bob")
    await asking.press(await asking.expect_message(), "Удалить")
    question = await asking.expect_edit()  # the card's message becomes the question
    yes = question.button("Да, удалить").callback_data
    assert yes is not None
    tapping = in_group(fake_telegram, other)
    answer = await answer_of(
        fake_telegram, tapping, await tapping.press_data(question.message_id, yes)
    )
    assert answer.show_alert and "Ответить может только тот, кто задал вопрос" in (
        answer.text or ""
    )
    assert deletes(smsc) == []
    await asking.press(question, "Да, удалить")
    await fake_telegram.drained()
    assert len(deletes(smsc)) == 1
