"""/subclients end to end: the list from statistics and the bot's own records, creating one (with
the password asked last and deleted), new password, type and login, and topping up with a
confirmation that pays once, survives a restart and explains errors 6, 7 and 10."""

from __future__ import annotations

from decimal import Decimal

from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import db_bytes, login, seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

SUB_PASSWORD = "Str0ng-Pass"


async def open_list(user: FakeUser) -> MessageView:
    await user.send("/subclients")
    return await user.expect_message()


async def send_secret(user: FakeUser, text: str) -> MessageView:
    sent = await user.send(text)
    await user.expect_deleted(sent["message_id"])
    return await user.expect_message()


def every_text(user: FakeUser) -> str:
    return "\n".join(
        (e.message.source or "")
        for e in user.chat.events
        if e.message is not None and e.message.from_bot
    )


async def test_list_comes_from_both_kinds_of_statistics_and_the_bot(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "own-1", 0)
    seed_subclient(account, "shared-1", 2)
    user = fake_telegram.user(7001)
    await login(user)
    assert bot.app is not None
    # Created through the bot earlier, with no statistics of its own yet.
    await bot.app.accounts.repo.add_subclient(user.chat.id, "quiet-1")
    listing = await open_list(user)
    text = listing.text or ""
    # Issue 13: money, not the type.
    assert "own-1 — balance 0.00\xa0₽" in text
    assert "shared-1 — spent 0.00\xa0₽ of your balance" in text
    assert "quiet-1 — created here" in text
    assert {"own-1", "shared-1", "quiet-1", "Create a subclient"} <= set(listing.button_texts)
    stat_calls = [r.params for r in smsc.requests if r.params.get("get_stat") == "1"]
    assert sorted(p.get("reseller", "") for p in stat_calls) == ["", "1"]


async def test_create_wizard_checks_everything_and_never_keeps_the_password(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(7002)
    await login(user)
    await user.press(await open_list(user), "Create a subclient")
    await user.expect_message()
    await user.send("bad login!")
    assert "1 to 32 Latin letters" in ((await user.expect_message()).text or "")
    await user.send("new-sub")
    await user.expect_message()
    await user.send("12")
    assert "not a valid phone number" in ((await user.expect_message()).text or "")
    await user.send("+7 999 123-45-67")
    types = await user.expect_message()
    assert "Spends your account's balance at your prices" in (types.text or "")
    assert len(types.button_texts) == 6 and types.button_texts[-1] == "« Back"
    await user.press(types, "Your tariff, own balance")
    await user.press(await user.expect_edit(), "Yes")
    await user.expect_edit()
    assert "password" in ((await user.expect_message()).text or "")
    weak = await send_secret(user, "simple")
    assert "too simple" in (weak.text or "")
    created = await send_secret(user, SUB_PASSWORD)
    assert "new-sub created" in (created.text or "")
    sub = smsc.accounts[LOGIN].subclients["new-sub"]
    assert (sub.type, sub.phone, sub.flags, sub.password) == (1, "79991234567", {29}, SUB_PASSWORD)
    assert SUB_PASSWORD not in every_text(user)
    assert bot.app is not None
    assert await bot.app.accounts.repo.list_subclients(user.chat.id) == ["new-sub"]
    stored = await db_bytes(bot.settings.data_dir, bot.settings.database_url)
    assert SUB_PASSWORD.encode() not in stored


async def test_a_taken_login_asks_for_another_and_keeps_the_other_answers(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "taken")
    user = fake_telegram.user(7003)
    await login(user)
    await user.press(await open_list(user), "Create a subclient")
    await user.expect_message()
    await user.send("taken")
    await user.press(await user.expect_message(), "Skip")
    await user.press(await user.expect_message(), "Your tariff and balance")
    await user.press(await user.expect_edit(), "No")
    await user.expect_edit()
    await user.expect_message()
    refused = await send_secret(user, SUB_PASSWORD)
    assert "could not create taken" in (refused.text or "")
    await user.send("free-one")
    assert "password" in ((await user.expect_message()).text or "")
    created = await send_secret(user, SUB_PASSWORD)
    assert "free-one created" in (created.text or "")
    sub = account.subclients["free-one"]
    assert (sub.type, sub.phone, sub.flags) == (2, "", set())


async def test_new_password_type_and_login(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "sub", 0)
    user = fake_telegram.user(7004)
    await login(user)
    await user.press(await open_list(user), "sub")
    card = await user.expect_edit()
    assert "This month: 0 messages" in (card.text or "")

    await user.press(card, "Password")
    await user.expect_message()
    assert "too simple" in ((await send_secret(user, "weakweak")).text or "")
    changed = await send_secret(user, "N3w-Password!")
    assert "password of sub is changed" in (changed.text or "")
    assert account.subclients["sub"].password == "N3w-Password!"
    assert "N3w-Password!" not in every_text(user)

    await user.press(card, "Type")
    types = await user.expect_edit()
    await user.press(types, "Your tariff and balance")
    question = await user.expect_edit()
    assert "Change the type of sub" in (question.text or "")
    assert account.subclients["sub"].type == 0
    await user.press(question, "Yes, change")
    assert "is now of type" in ((await user.expect_edit()).text or "")
    assert account.subclients["sub"].type == 2

    await user.press(changed, "Open")
    card = await user.expect_edit()
    await user.press(card, "Login")
    await user.expect_message()
    await user.send("sub two")
    assert "1 to 32 Latin letters" in ((await user.expect_message()).text or "")
    await user.send("sub-2")
    assert "sub is now sub-2" in ((await user.expect_message()).text or "")
    assert "sub-2" in account.subclients and "sub" not in account.subclients


async def test_top_up_asks_first_pays_once_and_shows_the_balance(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    sub = seed_subclient(account, "shop", 0)
    user = fake_telegram.user(7005)
    await login(user)
    await user.press(await open_list(user), "shop")
    card = await user.expect_edit()
    await user.press(card, "Top up")
    prompt = (await user.expect_message()).text or ""
    # Issue 13: "₽" as everywhere else, no "in RUB".
    assert "RUB" not in prompt and "1,000.00\xa0₽" in prompt
    await user.send("-5")
    assert "as a number" in ((await user.expect_message()).text or "")
    await user.send("250,5")
    question = await user.expect_message()
    assert "Move 250.50\xa0₽ from your balance to shop?" in (question.text or "")
    await user.press(question, "No")
    assert "Nothing was moved" in ((await user.expect_edit()).text or "")
    assert account.balance == Decimal("1000.00")

    await user.press(card, "Top up")
    await user.expect_message()
    await user.send("250.50")
    question = await user.expect_message()
    yes = question.button("Yes, top up").callback_data
    assert yes is not None
    await user.press(question, "Yes, top up")
    await user.expect_edit()
    done = (await user.expect_edit()).text or ""
    assert "shop got 250.50\xa0₽" in done and "Your balance: 749.50\xa0₽" in done
    assert (sub.balance, account.balance) == (Decimal("250.50"), Decimal("749.50"))
    # A second tap that was already on its way: nothing is paid twice.
    await user.press_data(question.message_id, yes)
    assert "already confirmed and done" in ((await user.expect_edit()).text or "")
    assert account.balance == Decimal("749.50")


async def test_top_up_errors_6_7_and_10_are_explained(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "shared", 2)
    seed_subclient(account, "rich", 0)
    seed_subclient(account, "gone", 0)
    user = fake_telegram.user(7006)
    await login(user)
    # Issue 13: more than the balance is refused at once, before any question.
    await user.press_data(2, "sca:pay:rich")
    await user.expect_message()
    await user.send("5000")
    assert "You have only 1,000.00\xa0₽" in ((await user.expect_message()).text or "")
    await user.send("/cancel")
    await user.expect_message()
    cases = (
        ("shared", "10", "uses the main account's balance"),
        ("gone", "10", "no subclient with this login"),
    )
    for login_, amount, words in cases:
        await user.press_data(2, f"sca:pay:{login_}")
        await user.expect_message()
        await user.send(amount)
        question = await user.expect_message()
        if login_ == "gone":
            del account.subclients["gone"]
        await user.press(question, "Yes, top up")
        await user.expect_edit()
        assert words in ((await user.expect_edit()).text or "")
    assert account.balance == Decimal("1000.00")


async def test_top_up_confirmation_works_after_a_restart(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    sub = seed_subclient(account, "later", 1)
    user = fake_telegram.user(7007)
    await login(user)
    await user.press_data(2, "sca:pay:later")
    await user.expect_message()
    await user.send("100")
    question = await user.expect_message()
    await bot.restart()
    await user.press(question, "Yes, top up")
    await user.expect_edit()
    assert "later got 100.00\xa0₽" in ((await user.expect_edit()).text or "")
    assert sub.balance == Decimal("100.00")


USERS_ERRORS = {
    1: "one of the values is not valid",
    3: "found no such record",
    5: "could not carry out the operation",
    6: "no subclient with this login",
    7: "uses the main account's balance",
    8: "could not save the subclient",
    9: "wait a minute",
    10: "not enough money on the main account",
}


async def test_every_users_error_code_is_explained_in_place(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "sub", 0)
    user = fake_telegram.user(7008)
    await login(user)
    for code, words in USERS_ERRORS.items():
        await user.press_data(2, "sca:pay:sub")
        await user.expect_message()
        await user.send(f"{code}.50")
        question = await user.expect_message()
        smsc.fault = code
        try:
            await user.press(question, "Yes, top up")
            assert "Topping up" in ((await user.expect_edit()).text or "")
            reply = (await user.expect_edit()).text or ""
        finally:
            smsc.fault = None
        assert words in reply, (code, reply)
    assert account.balance == Decimal("1000.00")
    smsc.fault = 4
    try:
        await user.send("/subclients")
        assert "temporarily blocked" in ((await user.expect_message()).text or "")
    finally:
        smsc.fault = None


def test_the_longest_buttons_fit_telegrams_64_bytes() -> None:
    from bot.services.subclients import login_ref
    from bot.ui import Cf
    from handlers.stats.data import StOps, StPick
    from handlers.subclients.data import ScAct, ScCheck, ScType

    longest = "x" * 32
    assert login_ref(longest) == longest and login_ref("y" * 33).startswith("#")
    assert login_ref("имя") != "имя" and len(login_ref("имя").encode()) == 13
    packed = [
        StOps(s=999999, e=999999, ref=longest).pack(),
        StPick(preset="lm", ref=longest).pack(),
        ScAct(action="login", ref=longest).pack(),
        ScType(type=4, ref=longest).pack(),
        ScCheck(ref=longest).pack(),
        Cf(id="x" * 16, yes=True).pack(),
    ]
    assert max(len(data.encode()) for data in packed) <= 64


async def test_no_dead_end_after_a_subclient_is_gone_or_a_type_is_asked(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 13 item 5: "no subclient with this login" comes with a way on, and the card's type
    chooser has a way back to the card."""
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "sub", 0)
    seed_subclient(account, "gone", 0)
    user = fake_telegram.user(7031)
    await login(user)
    await user.press(await open_list(user), "sub")
    card = await user.expect_edit()
    await user.press(card, "Type")
    types = await user.expect_edit()
    assert "« Back" in types.button_texts
    await user.press(types, "« Back")
    assert "Type" in (await user.expect_edit()).button_texts
    await user.press_data(2, "sca:pay:gone")
    await user.expect_message()
    await user.send("10")
    question = await user.expect_message()
    del account.subclients["gone"]
    await user.press(question, "Yes, top up")
    await user.expect_edit()
    refused = await user.expect_edit()
    assert "no subclient with this login" in (refused.text or "")
    assert refused.button_texts, "a refusal with no way on"


async def test_a_button_for_a_subclient_no_longer_known_leads_on(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 13 item 5: "Субклиента с таким логином нет." came with no button."""
    user = fake_telegram.user(7032)
    await login(user)
    await user.press_data(2, "scc:#0123456789ab")  # its reference matches no subclient
    unknown = await user.expect_edit()
    assert "There is no subclient with this login." in (unknown.text or "")
    assert unknown.button_texts, "a dead end"


async def test_a_subclient_gone_while_its_password_or_login_is_typed_leads_on(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """SMSC's error 6 (no such subclient) after a typed password or login ended the conversation
    with no button; nothing is sent again, and the answer leads back to the list."""
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "sub", 0)
    seed_subclient(account, "other", 0)
    user = fake_telegram.user(7033, language_code="ru")
    await login(user, expect=None)
    await user.press(await open_list(user), "sub")
    card = await user.expect_edit()
    await user.press(card, "Пароль")
    await user.expect_message()
    del account.subclients["sub"]
    ended = await send_secret(user, "N3w-Password!")
    assert "Субклиента с таким логином нет" in (ended.text or "")
    assert "« Все субклиенты" in ended.button_texts, "a refusal with no way on"

    # The list again would be a 4th identical get_stat this minute (the tests keep no cache).
    await user.press_data(card.message_id, "sca:login:other")
    await user.expect_message()
    del account.subclients["other"]
    await user.send("other-2")
    ended = await user.expect_message()
    assert "Субклиента с таким логином нет" in (ended.text or "")
    assert "« Все субклиенты" in ended.button_texts, "a refusal with no way on"
    await user.send("other-3")
    assert "Субклиента с таким логином нет" not in ((await user.expect_message()).text or "")


async def test_russian_names_the_subclient_so_a_login_that_cannot_decline_reads_right(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """A login cannot take a Russian case ending: "Теперь у магазин тип…", "Сменить тип магазин",
    "на магазин" read wrong; "субклиента магазин" reads as a native speaker writes."""
    account = smsc.accounts[LOGIN]
    seed_subclient(account, "shop", 0)
    user = fake_telegram.user(7034, language_code="ru")
    await login(user, expect=None)
    await user.press(await open_list(user), "shop")
    card = await user.expect_edit()
    await user.press(card, "Тип")
    types = await user.expect_edit()
    assert (types.text or "").startswith("Новый тип субклиента shop:")
    await user.press(types, "Ваш тариф, свой баланс")
    question = await user.expect_edit()
    asked = question.text or ""
    assert asked.startswith("Сменить тип субклиента shop на «Ваш тариф, свой баланс»?")
    await user.press(question, "Да, сменить")
    done = (await user.expect_edit()).text or ""
    assert done == "Тип субклиента shop теперь «Ваш тариф, свой баланс»."

    await user.press_data(card.message_id, "sca:pay:shop")
    prompt = (await user.expect_message()).text or ""
    assert prompt.startswith("Сколько перевести с вашего баланса субклиенту shop?")
    await user.send("10")
    question = await user.expect_message()
    assert question.text == "Перевести 10,00\xa0₽ с вашего баланса субклиенту shop?"
    await user.press(question, "Да, пополнить")
    assert "Пополняю баланс субклиента shop" in ((await user.expect_edit()).text or "")
    paid = (await user.expect_edit()).text or ""
    assert paid.startswith("Готово: баланс субклиента shop пополнен на 10,00\xa0₽.")
