"""/senders end to end: statuses in words, the card, adding with checks, the code that confirms a
digital name (errors 7, 8, 10, 11), comments, deletion, and buttons across a restart."""

from __future__ import annotations

from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import OPERATOR_FIELDS
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, seed_sender
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

OPERATOR_WORDS = {
    0: "awaiting registration",
    1: "sent for registration",
    2: "approved by the operator",
    3: "rejected by the operator",
    4: "temporarily disabled",
    5: "not enough money on the account",
    8: "supporting documents needed",
    9: "activated from the start of the month",
    255: "approved, marked for deregistration",
}


async def open_senders(user: FakeUser) -> MessageView:
    await user.send("/senders")
    return await user.expect_message()


async def test_list_and_card_say_every_status_in_words(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    codes = list(OPERATOR_WORDS)
    seed_sender(account, "Waiting", 0)
    seed_sender(account, "Shop&Co", 1, **dict(zip(OPERATOR_FIELDS, codes * 3, strict=False)))
    seed_sender(account, "Old", 2)
    user = fake_telegram.user(5001)
    await login(user)
    listing = await open_senders(user)
    text = listing.text or ""
    assert "Waiting — awaiting moderation" in text
    assert "Shop&Co — approved" in text
    assert "Old — disabled" in text
    await user.press(listing, "Shop&Co ✅")
    card = (await user.expect_edit()).text or ""
    assert card.startswith("Shop&Co\nStatus: approved")
    for words in OPERATOR_WORDS.values():
        assert words in card
    assert "MTS:" in card and "Beeline:" in card


async def test_adding_a_name_checks_it_first_and_keeps_the_wizard_on_error_5(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_sender(account, "Taken", 1)
    user = fake_telegram.user(5002)
    await login(user)
    await user.press(await open_senders(user), "Add a name")
    assert "up to 11 Latin letters" in ((await user.expect_message()).text or "")
    before = len(smsc.requests)
    for bad in ("TwelveLetter", "Магазин", "1234567890123456", "!!!"):
        await user.send(bad)
        assert "cannot be a sender name" in ((await user.expect_message()).text or "")
    await user.send("Магазин-" * 10)  # echoed cut, and said to be cut
    assert "Магазин-Магазин-Магазин-Магазин-Магазин… cannot" in (
        (await user.expect_message()).text or ""
    )
    assert len(smsc.requests) == before, "a refused name must not reach SMSC"
    await user.send("Taken")
    await user.expect_message()
    await user.send("Our shop")
    refused = (await user.expect_message()).text or ""
    assert "did not accept the name Taken" in refused and "Send another name" in refused
    await user.send("New-Shop")
    await user.expect_message()
    await user.send("Our shop at example.com")
    added = await user.expect_message()
    assert "New-Shop added" in (added.text or "")
    assert "Send a code" not in added.button_texts
    sender = account.sender_by_name("New-Shop")
    assert sender is not None and sender.comment == "Our shop at example.com"


async def test_digital_name_code_flow_with_a_wrong_code_first(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    number = "79995550101"
    user = fake_telegram.user(5003)
    await login(user)
    await user.press(await open_senders(user), "Add a name")
    await user.expect_message()
    await user.send(number)
    await user.expect_message()
    await user.send("Office phone")
    added = await user.expect_message()
    assert "confirm it with a code" in (added.text or "")
    await user.press(added, "Send a code")
    prompt = (await user.expect_message()).text or ""
    assert "sent a code" in prompt and "+7 999 555" in prompt
    code = smsc.sent_codes[number]
    wrong = "000000" if code != "000000" else "111111"
    await user.send(wrong)
    assert "code is wrong" in ((await user.expect_message()).text or "")
    await user.send(code)
    assert "is confirmed" in ((await user.expect_message()).text or "")
    sender = smsc.accounts[LOGIN].sender_by_name(number)
    assert sender is not None and sender.status == 1


async def test_code_errors_7_8_and_10_are_explained(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    short = seed_sender(account, "12345")
    far = seed_sender(account, "79000000001")
    smsc.undeliverable.add(far.name)
    pending = seed_sender(account, "79995550102")
    user = fake_telegram.user(5004)
    await login(user)
    listing = await open_senders(user)
    # Card buttons carry everything the code buttons need, so the card is opened once per name.
    await user.press(listing, "12345 ⏳")
    # SMSC sends codes to phone numbers only (10 to 15 digits): a short numeric name gets none.
    card = await user.expect_edit()
    assert "Send a code" not in card.button_texts and "I have a code" not in card.button_texts
    assert "confirmed with a code" not in (card.text or "")
    await user.press_data(listing.message_id, f"sna:code:{short.id}:{short.name}")
    assert "not a phone number" in ((await user.expect_message()).text or "")

    await user.press_data(listing.message_id, f"sna:code:{far.id}:{far.name}")
    undeliverable = (await user.expect_message()).text or ""
    assert "cannot deliver a confirmation code" in undeliverable

    code_button = f"sna:code:{pending.id}:{pending.name}"
    await user.press_data(listing.message_id, code_button)
    assert "sent a code" in ((await user.expect_message()).text or "")
    await user.press_data(listing.message_id, code_button)
    again = await user.expect_message()
    # Sent through the bot a moment ago: the next code is due in 8 hours, said in full.
    assert "already sent" in (again.text or "") and "in 8 hours" in (again.text or "")
    assert "I have a code" in again.button_texts
    await user.press(again, "I have a code")
    await user.expect_message()
    await user.send(smsc.sent_codes[pending.name])
    assert "is confirmed" in ((await user.expect_message()).text or "")
    assert short.status == 0 and pending.status == 1


async def test_code_sent_elsewhere_gives_error_10_without_a_time(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    pending = seed_sender(smsc.accounts[LOGIN], "79995550103")
    user = fake_telegram.user(5005)
    await login(user)
    smsc.fault = 10
    try:
        await user.press_data(1, f"sna:code:{pending.id}:{pending.name}")
        text = (await user.expect_message()).text or ""
    finally:
        smsc.fault = None
    assert "less than 8 hours ago" in text and "not through this bot" in text


async def test_comment_and_deletion_with_confirmation(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    sender = seed_sender(account, "Brand", 1)
    user = fake_telegram.user(5006)
    await login(user)
    await user.press(await open_senders(user), "Brand ✅")
    card = await user.expect_edit()
    await user.press(card, "Change the comment")
    assert "new comment" in ((await user.expect_message()).text or "")
    await user.send("x" * 501)
    assert "1 to 500 characters" in ((await user.expect_message()).text or "")
    await user.send("Brand of the shop")
    assert "Comment saved" in ((await user.expect_message()).text or "")
    assert sender.comment == "Brand of the shop"

    await user.press(card, "Delete")
    question = await user.expect_edit()
    assert (question.text or "").startswith("Brand\n\nDelete this sender name?")
    await user.press(question, "No")
    assert "Status: approved" in ((await user.expect_edit()).text or "")
    assert sender.id in account.senders
    await user.press(card, "Delete")
    await user.press(await user.expect_edit(), "Yes, delete")
    assert "deleted" in ((await user.expect_edit()).text or "")
    assert sender.id not in account.senders
    actions = await audit_actions(bot, user.id)
    assert ("sender.comment", "ok") in actions and ("sender.delete", "ok") in actions


async def test_buttons_and_the_code_conversation_survive_a_restart(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    pending = seed_sender(smsc.accounts[LOGIN], "79995550104")
    user = fake_telegram.user(5007)
    await login(user)
    listing = await open_senders(user)
    await bot.restart()
    await user.press(listing, "79995550104 ⏳")
    card = await user.expect_edit()
    await user.press(card, "Send a code")
    await user.expect_message()
    await bot.restart()
    await user.send(smsc.sent_codes[pending.name])
    assert "is confirmed" in ((await user.expect_message()).text or "")


async def test_senders_before_login_asks_to_log_in(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(5008)
    await user.send("/senders")
    assert "/login" in ((await user.expect_message()).text or "")


async def audit_actions(bot: RunningBot, user_id: int) -> list[tuple[str, str]]:
    assert bot.app is not None
    rows = await bot.app.database.fetchall(
        "SELECT action, result FROM audit_log WHERE user_id = ? ORDER BY id", (user_id,)
    )
    return [(str(a), str(r)) for a, r in rows]


# What the user reads for each error code senders.php names (2 and 3 have their own tests).
SENDERS_ERRORS = {
    1: "one of the values is not valid",
    5: "could not save or delete",
    7: "not a phone number",
    8: "cannot deliver a confirmation code",
    9: "wait a minute",
    10: "already sent",
    11: "code is wrong",
}


async def test_every_error_code_is_explained_in_place_and_the_conversation_stays(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sender = seed_sender(smsc.accounts[LOGIN], "Brand", 1)
    user = fake_telegram.user(5009)
    await login(user)
    await user.press_data(2, f"sna:cmt:{sender.id}:")
    await user.expect_message()
    for code, words in SENDERS_ERRORS.items():
        smsc.fault = code
        try:
            # A different comment each time: three identical requests a minute are SMSC's limit.
            await user.send(f"comment {code}")
            reply = (await user.expect_message()).text or ""
        finally:
            smsc.fault = None
        assert words in reply, (code, reply)
        assert "Send the comment again" in reply
    await user.send("final comment")
    assert "Comment saved" in ((await user.expect_message()).text or "")
    assert sender.comment == "final comment"

    # 3: the name is gone, so the conversation ends.
    await user.press_data(2, f"sna:cmt:{sender.id}:")
    await user.expect_message()
    smsc.fault = 3
    try:
        await user.send("comment 3")
        assert "no longer exists" in ((await user.expect_message()).text or "")
    finally:
        smsc.fault = None
    await user.send("comment 3 again")
    assert "Send a command" in ((await user.expect_message()).text or "")

    # 4: the server's IP is blocked; the bot stops calling SMSC for the cool-down.
    smsc.fault = 4
    await user.send("/senders")
    assert "temporarily blocked" in ((await user.expect_message()).text or "")
    smsc.fault = None
    calls = len(smsc.requests)
    await user.send("/senders")
    assert "temporarily blocked" in ((await user.expect_message()).text or "")
    assert len(smsc.requests) == calls


async def test_error_2_inside_a_conversation_asks_to_log_in_again(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sender = seed_sender(smsc.accounts[LOGIN], "Brand", 1)
    user = fake_telegram.user(5010)
    await login(user)
    await user.press_data(2, f"sna:cmt:{sender.id}:")
    await user.expect_message()
    smsc.fault = 2
    try:
        await user.send("new comment")
        assert "refused the saved password" in ((await user.expect_message()).text or "")
    finally:
        smsc.fault = None
    assert bot.app is not None
    account = await bot.app.accounts.repo.get(user.chat.id)
    assert account is not None and account.needs_relogin


async def test_the_card_says_what_an_operator_replaces_the_name_with(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sender = seed_sender(smsc.accounts[LOGIN], "MyShop", 1, mega_step=2)
    sender.replacements.update(mts_step="79001234567", bee_step="ShopBee")
    user = fake_telegram.user(5020)
    await login(user)
    await user.press(await open_senders(user), "MyShop ✅")
    card = (await user.expect_edit()).text or ""
    assert "MTS: replaced by 79001234567" in card
    assert "Beeline: replaced by ShopBee" in card
    assert "MegaFon: approved by the operator" in card
    assert "status 79001234567" not in card


async def test_a_refused_code_or_a_name_gone_mid_step_leads_on(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Every screen has a way on: a code SMSC would not send (8, 7) and a name deleted while its
    comment or code was being typed were answered with no button at all."""
    account = smsc.accounts[LOGIN]
    far = seed_sender(account, "79000000002")
    smsc.undeliverable.add(far.name)
    gone = seed_sender(account, "79995550105")
    user = fake_telegram.user(5021, language_code="ru")
    await login(user, expect=None)
    listing = await open_senders(user)
    await user.press_data(listing.message_id, f"sna:code:{far.id}:{far.name}")
    undeliverable = await user.expect_message()
    assert "не может доставить код" in (undeliverable.text or "")
    assert "Открыть" in undeliverable.button_texts, "a refusal with no way on"
    await user.press(undeliverable, "Открыть")
    assert "Статус: на модерации" in ((await user.expect_edit()).text or "")

    kept = seed_sender(account, "Brand", 1)
    # The name deleted while its code, then another's comment, is typed.
    for step, typed in (
        (f"sna:code:{gone.id}:{gone.name}", "123456"),
        (f"sna:cmt:{kept.id}:", "A comment"),
    ):
        await user.press_data(listing.message_id, step)
        await user.expect_message()
        del account.senders[int(step.split(":")[2])]
        await user.send(typed)
        ended = await user.expect_message()
        assert "больше нет" in (ended.text or "")
        assert "« Все имена" in ended.button_texts, "the conversation ended in a dead end"


async def test_a_digital_name_typed_as_a_phone_number_is_taken_as_its_digits(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """ "+7 (999) 555-01-06" was refused as "cannot be a sender name… or a phone number", which
    is what it is; its digits are the name SMSC takes. A short number stays refused."""
    user = fake_telegram.user(5022)
    await login(user)
    await user.press(await open_senders(user), "Add a name")
    await user.expect_message()
    before = len(smsc.requests)
    # Digits of another script are no name SMSC takes.
    for refused in ("12 34", "٧٩٩٩٥٥٥٠١٠٦"):
        await user.send(refused)
        assert "cannot be a sender name" in ((await user.expect_message()).text or "")
    assert len(smsc.requests) == before
    await user.send("+7 (999) 555-01-06")
    assert "79995550106" in ((await user.expect_message()).text or "")
    await user.send("Office phone")
    added = await user.expect_message()
    assert "Sender name 79995550106 added" in (added.text or "")
    assert "Send a code" in added.button_texts
    sender = smsc.accounts[LOGIN].sender_by_name("79995550106")
    assert sender is not None and sender.comment == "Office phone"
