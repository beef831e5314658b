"""The bot core end to end: users talk to the real dispatcher through the fake Bot API server,
the bot talks to the SMSC emulator, state lives in SQLite on disk."""

from __future__ import annotations

import pytest

from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN, PASSWORD, closed_port
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import db_bytes, has_cyrillic, login
from tests.support.botapi import FakeTelegram


async def test_start_in_english_and_russian(bot: RunningBot, fake_telegram: FakeTelegram) -> None:
    anna = fake_telegram.user(1001, "Anna", language_code="en")
    ivan = fake_telegram.user(1002, "Иван", language_code="ru-RU")
    await anna.send("/start")
    await ivan.send("/start")
    english = await anna.expect_message()
    russian = await ivan.expect_message()
    assert "/login" in english.text and not has_cyrillic(english.text)
    assert "/login" in russian.text and has_cyrillic(russian.text)
    assert english.button_texts and russian.button_texts


async def test_help_lists_every_command(bot: RunningBot, fake_telegram: FakeTelegram) -> None:
    user = fake_telegram.user(1003)
    await user.send("/help")
    text = (await user.expect_message()).text
    for command in ("/start", "/help", "/login", "/balance", "/lang", "/cancel", "/logout"):
        assert command in text


async def test_command_menus_are_set_per_language(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    russian = fake_telegram.commands(language_code="ru")
    english = fake_telegram.commands(language_code="en")
    assert [c["command"] for c in russian] == [c["command"] for c in english]
    assert "balance" in [c["command"] for c in english]
    assert has_cyrillic(" ".join(c["description"] for c in russian))


async def test_one_line_login_deletes_the_secret_and_shows_the_balance(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(1004)
    sent = await user.send(f"/login {LOGIN} {PASSWORD}")
    await user.expect_deleted(sent["message_id"])
    reply = (await user.expect_message()).text
    assert LOGIN in reply and "1,000.00" in reply
    assert PASSWORD not in reply
    assert bot.app is not None
    stored = await db_bytes(bot.settings.data_dir, bot.settings.database_url)
    assert PASSWORD.encode() not in stored
    await user.send("/balance")
    assert "1,000.00" in (await user.expect_message()).text


async def test_one_line_apikey_login(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    smsc.add_account("keyed", "Keyed-Password-1", apikey="keyed-api-key-77")
    user = fake_telegram.user(1005)
    sent = await user.send("/login apikey keyed-api-key-77")
    await user.expect_deleted(sent["message_id"])
    assert "1,000.00" in (await user.expect_message()).text
    assert smsc.requests[-1].params.get("apikey") == "keyed-api-key-77"


async def test_login_conversation(bot: RunningBot, fake_telegram: FakeTelegram) -> None:
    user = fake_telegram.user(1006)
    await user.send("/login")
    sites = await user.expect_message()
    assert {"smsc.ru", "smscentre.com", "smsc.kz", "smsc.ua"} <= set(sites.button_texts)
    await user.press(sites, "smscentre.com")
    methods = await user.expect_edit()
    await user.press(methods, "Login and password")
    await user.expect_edit()
    await user.send(LOGIN)
    assert "password" in (await user.expect_message()).text
    secret = await user.send(PASSWORD)
    await user.expect_deleted(secret["message_id"])
    reply = (await user.expect_message()).text
    assert "smscentre.com" in reply and "1,000.00" in reply


async def test_text_where_a_button_is_expected(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(1007)
    await user.send("/login")
    await user.expect_message()
    await user.send("smsc.ru please")
    again = await user.expect_message()
    assert "buttons" in again.text
    assert "smsc.ru" in again.button_texts


async def test_wrong_password_is_explained_and_can_be_retried(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(1008)
    await user.send("/login")
    await user.press(await user.expect_message(), "smsc.ru")
    await user.press(await user.expect_edit(), "Login and password")
    await user.expect_edit()
    await user.send(LOGIN)
    await user.expect_message()
    await user.send("not-the-password")
    reply = await user.expect_message()
    assert "did not accept" in reply.text
    await user.send(PASSWORD)
    assert "1,000.00" in (await user.expect_message()).text


async def test_failed_logins_are_paused_before_smsc_blocks_the_ip(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Chats without a working saved account share 2 failed log-in checks per 30 minutes; the
    next check is refused before it reaches SMSC, saying why and until when."""
    users = [fake_telegram.user(2000 + i) for i in range(3)]
    assert "did not accept" in await login(users[0], "wrong-0", expect=None)
    assert "did not accept" in await login(users[1], "wrong-1", expect=None)
    paused = await login(users[2], "wrong-2", expect=None)
    assert "paused until" in paused and "every user's connection to SMSC" in paused
    assert "paused until" in await login(users[0], expect=None)
    assert len([r for r in smsc.requests if r.login is None]) == 2


async def test_smsc_down_at_login(
    fake_telegram: FakeTelegram,
    make_settings,
    smsc: SmscEmulator,  # type: ignore[no-untyped-def]
) -> None:
    running = RunningBot(
        fake_telegram, make_settings(smsc_api_url=f"http://127.0.0.1:{closed_port()}")
    )
    await running.start()
    try:
        user = fake_telegram.user(1009)
        assert "not reachable" in await login(user, expect=None)
        await user.send("/balance")
        assert "not logged in" in (await user.expect_message()).text
    finally:
        await running.stop()


async def test_commands_before_login_say_how_to_log_in(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(1010)
    await user.send("/balance")
    assert "/login" in (await user.expect_message()).text
    await user.send("/contacts")
    assert "/login" in (await user.expect_message()).text


async def test_logout_asks_first_and_wipes_credentials(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(1011)
    await login(user)
    await user.send("/logout")
    question = await user.expect_message()
    await user.press(question, "No")
    await user.expect_edit()
    await user.send("/balance")
    assert "1,000.00" in (await user.expect_message()).text
    await user.send("/logout")
    await user.press(await user.expect_message(), "Yes")
    assert "Logged out" in (await user.expect_edit()).text
    assert bot.app is not None
    assert await bot.app.accounts.repo.get(1011) is None
    await user.send("/balance")
    assert "not logged in" in (await user.expect_message()).text


async def test_a_logout_tapped_again_after_it_was_done_says_so_not_a_role(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """Yes tapped twice, or a second /logout question answered after the first: the chat is
    logged out, so its role is not what stops the tap."""
    user = fake_telegram.user(1012, language_code="ru")
    await login(user, expect=None)
    await user.send("/logout")
    first = await user.expect_message()
    await user.send("/logout")
    second = await user.expect_message()
    await user.press(first, "Да")
    assert "Вы вышли" in (await user.expect_edit()).text
    await user.press_data(first.message_id, first.buttons[0][0].callback_data)
    assert "уже подтверждено и выполнено" in (await user.expect_edit()).text
    await user.press(second, "Нет")
    answer = (await user.expect_edit()).text
    assert "Вы не вошли" in answer and "роль" not in answer
    await user.assert_no_reply(timeout=1)


async def test_language_choice_survives_cancel_and_restart(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(1012, language_code="en")
    await user.send("/lang")
    await user.press(await user.expect_message(), "Русский")
    assert has_cyrillic((await user.expect_edit()).text)
    await user.send("/login")
    await user.expect_message()
    await user.send("/cancel")
    assert has_cyrillic((await user.expect_message()).text)
    await bot.restart()
    await user.send("/start")
    assert has_cyrillic((await user.expect_message()).text)


async def test_cancel_leaves_a_conversation(bot: RunningBot, fake_telegram: FakeTelegram) -> None:
    user = fake_telegram.user(1013)
    await user.send("/login")
    await user.press(await user.expect_message(), "smsc.ru")
    await user.press(await user.expect_edit(), "Login and password")
    await user.expect_edit()
    await user.send("/cancel")
    assert "Cancelled" in (await user.expect_message()).text
    await user.send("alice")
    assert "/help" in (await user.expect_message()).text
    await user.send("/cancel")
    assert "nothing to cancel" in (await user.expect_message()).text


async def test_stale_or_forged_button_gets_a_fresh_menu(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(1014)
    await user.send("/start")
    menu = await user.expect_message()
    await user.press_data(menu.message_id, "no-such-button:1")
    answer = await user.expect_callback_answer()
    assert "out of date" in (answer.text or "")
    fresh = await user.expect_message()
    assert "out of date" in fresh.text and fresh.buttons
    # Logged in, the fresh menu is home's: no subclients for an account without them.
    await login(user)
    await user.press_data(menu.message_id, "no-such-button:2")
    fresh = await user.expect_message()
    assert "⛔ Black list" in fresh.button_texts and "👥 Subclients" not in fresh.button_texts


async def test_password_changed_on_smsc_stops_using_saved_credentials(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(1015)
    await login(user)
    smsc.accounts[LOGIN].password = "changed-elsewhere-1"
    await user.send("/balance")
    assert "refused the saved password" in (await user.expect_message()).text
    sent_before = len(smsc.requests)
    await user.send("/balance")
    assert "/login" in (await user.expect_message()).text
    assert len(smsc.requests) == sent_before


async def test_smsc_unreachable_offers_a_retry_button(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(1016)
    await login(user)
    smsc.fault = "http500"
    await user.send("/balance")
    reply = await user.expect_message()
    # Issue 13: a balance check changes nothing, so the answer does not say so.
    assert "not reachable" in reply.text and "Nothing was changed" not in reply.text
    smsc.fault = None
    smsc.accounts[LOGIN].balance += 5
    await user.press(reply, "Try again")
    assert "1,005.00" in (await user.expect_message()).text


async def test_flood_control_is_waited_out(bot: RunningBot, fake_telegram: FakeTelegram) -> None:
    user = fake_telegram.user(1017)
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    await user.send("/help")
    assert "/login" in (await user.expect_message()).text
    assert [r.status for r in fake_telegram.requests_for("sendMessage")][:2] == [429, 200]


async def test_strangers_get_no_answer(
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
) -> None:
    running = RunningBot(fake_telegram, make_settings(allowed_user_ids=frozenset({1018})))
    await running.start()
    try:
        stranger = fake_telegram.user(6666)
        await stranger.send("/start")
        await stranger.send("/login alice secret-pass")
        await stranger.assert_no_reply()
        friend = fake_telegram.user(1018)
        await friend.send("/start")
        assert "/login" in (await friend.expect_message()).text
    finally:
        await running.stop()


@pytest.mark.parametrize("code", [1, 4, 9])
async def test_smsc_errors_are_explained(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, code: int
) -> None:
    user = fake_telegram.user(1100 + code)
    await login(user)
    smsc.fault = code
    await user.send("/balance")
    text = (await user.expect_message()).text
    expected = {1: "not valid", 4: "temporarily blocked", 9: "wait a minute"}[code]
    assert expected in text


async def test_an_update_delivered_twice_is_handled_once(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    from aiogram.types import Message, Update

    user = fake_telegram.user(1019)
    await login(user)
    raw = await user.send("/balance")
    await user.expect_message()
    assert bot.app is not None
    requests_before = len(smsc.requests)
    # Telegram redelivers an update the bot did not confirm before it died; replay that one.
    update_ids = [
        r.result[-1]["update_id"] for r in fake_telegram.requests_for("getUpdates") if r.result
    ]
    replay = Update(update_id=update_ids[-1], message=Message.model_validate(raw))
    await bot.app.dp.feed_update(bot.app.bot, replay)
    await user.assert_no_reply()
    assert len(smsc.requests) == requests_before


async def test_demo_account_is_a_sandbox_per_chat(
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
) -> None:
    running = RunningBot(fake_telegram, make_settings(demo=True, smsc_api_url=None))
    await running.start()
    try:
        first, second = fake_telegram.user(1020), fake_telegram.user(1021)
        for user in (first, second):
            await user.send("/login")
            await user.press(await user.expect_message(), "Demo account")
            await user.expect_edit()
            assert "1,250.50" in (await user.expect_message()).text
        assert running.app is not None and running.app.emulator is not None
        accounts = running.app.emulator.accounts
        assert {"demo-1020", "demo-1021"} <= set(accounts)
        accounts["demo-1020"].black.clear()
        assert accounts["demo-1021"].black
    finally:
        await running.stop()


async def test_a_user_who_blocked_the_bot_is_not_an_incident(
    bot: RunningBot, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    user = fake_telegram.user(1022)
    user.block()
    await user.send("/help")
    await fake_telegram.drained()
    assert "incident" not in caplog.text
    user.unblock()
    await user.send("/help")
    assert "/login" in (await user.expect_message()).text


async def test_every_text_is_cut_to_telegrams_limits_in_utf16_units(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """Whatever the bot sends goes through one clipper: texts to 4,096 UTF-16 units and captions
    to 1,024 (an emoji outside the BMP counts 2), HTML left valid, an ellipsis at the cut."""
    from aiogram.types import BufferedInputFile

    assert bot.app is not None
    user = fake_telegram.user(1031)
    sender = bot.app.bot
    await sender.send_message(user.id, "<b>Report</b>\n<i>" + "😀 &amp; " * 1000 + "</i>")
    text = (await user.expect_message()).text or ""
    assert text.startswith("Report\n😀 & 😀") and text.endswith("…")
    assert 4000 < len(text.encode("utf-16-le")) // 2 <= 4096
    await sender.send_document(
        user.id, BufferedInputFile(b"1\n", "numbers.txt"), caption="<b>" + "й😀" * 600 + "</b>"
    )
    caption = (await user.expect_message()).text or ""
    assert caption.endswith("…") and len(caption.encode("utf-16-le")) // 2 <= 1024
    sent = fake_telegram.requests_for("sendMessage") + fake_telegram.requests_for("sendDocument")
    assert [r.status for r in sent] == [200, 200]


async def test_an_update_from_another_user_in_a_private_chat_is_ignored(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """Telegram never sends one: a private chat's id is its user's. A forged one would act on
    the account of the chat, so it is dropped without an answer."""
    victim = fake_telegram.user(1032)
    mallory = fake_telegram.user(1033, "Mallory")
    await login(victim)
    since = len(fake_telegram.requests)
    message = {
        "message_id": 77,
        "date": 1_700_000_000,
        "chat": victim.chat.json,
        "from": mallory.json,
        "text": "/logout",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
    }
    fake_telegram.queue_update("message", message, chat_id=victim.id)
    await fake_telegram.drained()
    await victim.assert_no_reply()
    await mallory.assert_no_reply()
    assert [r.method for r in fake_telegram.requests[since:] if r.method != "getUpdates"] == []
    await victim.send("/balance")
    assert "1,000.00" in (await victim.expect_message()).text
