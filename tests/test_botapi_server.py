"""The fake Telegram Bot API server, driven by a real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.support.botapi import CONFLICT_WEBHOOK, FakeTelegram, parse_html
from tests.support.fixtures import TEST_TOKEN
from tests.support.fixtures import fake_telegram as fake_telegram  # re-exported as a fixture

EXPORT = b"+79991234567\n+79997654321\n"


def page_keyboard(page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Next ▶", callback_data=f"page:{page + 1}")]]
    )


def make_router() -> Router:
    # A router can belong to one dispatcher only, and each test builds its own dispatcher.
    router = Router(name="fake-telegram-demo")

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        await message.answer("Hello, <b>Anna</b>!")

    @router.message(Command("menu"))
    async def menu(message: Message) -> None:
        await message.answer("Page 1", reply_markup=page_keyboard(1))

    @router.callback_query(F.data.startswith("page:"))
    async def page(query: CallbackQuery) -> None:
        assert query.data is not None and isinstance(query.message, Message)
        number = int(query.data.split(":")[1])
        await query.message.edit_text(f"Page {number}", reply_markup=page_keyboard(number))
        await query.answer(f"Page {number}")

    @router.callback_query()
    async def stale(query: CallbackQuery) -> None:
        await query.answer("This button is no longer valid", show_alert=True)

    @router.message(Command("password"))
    async def password(message: Message) -> None:
        await message.delete()
        await message.answer("Password stored; your message was removed.")

    @router.message(Command("export"))
    async def export(message: Message, bot: Bot) -> None:
        await bot.send_chat_action(message.chat.id, "upload_document")
        await message.answer_document(
            BufferedInputFile(EXPORT, filename="numbers.txt"), caption="Your <i>numbers</i>"
        )

    @router.message(Command("silent"))
    async def silent(message: Message) -> None:
        return None

    @router.message(F.document)
    async def upload(message: Message, bot: Bot) -> None:
        assert message.document is not None
        data = await bot.download(message.document)
        assert data is not None
        content = data.read()
        await message.answer(
            f"Got {message.document.file_name}: {len(content)} bytes, "
            f"{len(content.splitlines())} lines"
        )

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact is not None
        await message.answer(f"Phone: {message.contact.phone_number}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "", parse_mode=None)

    return router


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    instance = fake_telegram.make_bot(default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    try:
        yield instance
    finally:
        await instance.session.close()


@pytest.fixture
async def running(fake_telegram: FakeTelegram, bot: Bot) -> AsyncIterator[FakeTelegram]:
    """The demo bot polling the fake server (1 s long polls, handlers awaited in order)."""
    dispatcher = Dispatcher()
    dispatcher.include_router(make_router())
    async with fake_telegram.polling(dispatcher, bot, polling_timeout=1, close_bot_session=False):
        yield fake_telegram


async def call(tg: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tg.base_url}/bot{tg.token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


# ------------------------------------------------------------------------------ protocol


async def test_get_me_auth_and_unknown_methods(fake_telegram: FakeTelegram) -> None:
    tg = fake_telegram
    status, body = await call(tg, "getMe")
    assert status == 200
    assert body["result"]["id"] == 123456
    assert body["result"]["is_bot"] is True

    async with aiohttp.ClientSession() as session:
        # Telegram matches method names case-insensitively and accepts GET.
        async with session.get(f"{tg.base_url}/bot{tg.token}/GETME") as response:
            assert response.status == 200
        async with session.post(f"{tg.base_url}/bot123456:WRONG/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
    status, body = await call(tg, "sendSticker", chat_id=1)
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    await call(tg, "setWebhook", url="https://example.invalid/hook")
    assert tg.webhook is not None
    status, body = await call(tg, "getUpdates")
    assert (status, body["description"]) == (409, CONFLICT_WEBHOOK)
    await call(tg, "deleteWebhook")
    assert await call(tg, "getUpdates") == (200, {"ok": True, "result": []})

    tg.stub("setMyDescription", True)
    stubbed = await call(tg, "setMyDescription", description="x")
    assert stubbed == (200, {"ok": True, "result": True})


async def test_offset_confirms_and_forgets_updates(fake_telegram: FakeTelegram) -> None:
    tg = fake_telegram
    user = tg.user()
    for text in ("one", "two", "three"):
        await user.send(text)

    def ids(body: dict[str, Any]) -> list[int]:
        return [update["update_id"] for update in body["result"]]

    assert ids((await call(tg, "getUpdates"))[1]) == [1, 2, 3]
    # Unconfirmed updates come again.
    assert ids((await call(tg, "getUpdates"))[1]) == [1, 2, 3]
    assert ids((await call(tg, "getUpdates", offset=2))[1]) == [2, 3]
    assert ids((await call(tg, "getUpdates"))[1]) == [2, 3]
    assert ids((await call(tg, "getUpdates", limit=1))[1]) == [2]
    # A negative offset keeps the last -offset updates and forgets the rest.
    assert ids((await call(tg, "getUpdates", offset=-1))[1]) == [3]
    assert ids((await call(tg, "getUpdates", offset=4))[1]) == []
    await tg.drained(timeout=0)

    # allowed_updates is remembered, and updates of other types are never created.
    await call(tg, "getUpdates", offset=4, allowed_updates=["callback_query"])
    await user.send("four")
    assert [u["update_id"] for u in tg.dropped_updates] == [4]
    await user.press_data(1, "x")
    assert [u["callback_query"]["data"] for u in (await call(tg, "getUpdates"))[1]["result"]] == [
        "x"
    ]
    await call(tg, "getUpdates", offset=6, allowed_updates=[])
    await user.send("six")
    assert ids((await call(tg, "getUpdates"))[1]) == [6]


async def test_a_second_poller_terminates_the_first(fake_telegram: FakeTelegram) -> None:
    tg = fake_telegram
    first = asyncio.create_task(call(tg, "getUpdates", timeout=5))
    await tg.wait_long_poll()
    assert await call(tg, "getUpdates") == (200, {"ok": True, "result": []})
    status, body = await first
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")


async def test_long_poll_answers_at_once_and_does_not_spin(running: FakeTelegram) -> None:
    tg = running
    user = tg.user()
    loop = asyncio.get_running_loop()

    held = await tg.wait_long_poll()
    sent_at = loop.time()
    await user.send("ping")
    answered = await tg.wait_for_request(
        "getUpdates", where=lambda r: r is held, since=held.index, finished=True
    )
    assert answered.finished_at is not None
    assert answered.finished_at - sent_at < 0.5
    assert [u["message"]["text"] for u in answered.result] == ["ping"]
    assert (await user.expect_message()).text == "ping"

    # Idle: exactly one getUpdates per poll timeout (1 s), held for the whole timeout.
    idle = await tg.wait_long_poll()
    following = await tg.wait_for_request("getUpdates", since=idle.index + 1)
    assert idle.finished_at is not None
    assert idle.result == []
    assert idle.finished_at - idle.received_at >= 0.9
    window = [
        r
        for r in tg.requests_for("getUpdates")
        if idle.received_at <= r.received_at <= following.received_at
    ]
    assert window == [idle, following]


# ------------------------------------------------------------------------------ conversation


async def test_echo_then_drained_proves_silence(running: FakeTelegram) -> None:
    user = running.user(user_id=1001, first_name="Anna", language_code="ru")
    sent = await user.send("hello <world> & co")
    reply = await user.expect_message()
    assert reply.text == "hello <world> & co"
    assert reply.message_id == sent["message_id"] + 1
    assert reply.raw["from"]["id"] == 123456

    await user.send("/silent")
    await user.assert_no_reply()

    await user.send("unexpected")
    with pytest.raises(AssertionError, match="unexpected"):
        await user.assert_no_reply()


async def test_html_reply_and_readable_timeout(running: FakeTelegram) -> None:
    user = running.user()
    await user.send("/start")
    hello = await user.expect_message()
    assert hello.text == "Hello, Anna!"
    assert hello.source == "Hello, <b>Anna</b>!"
    assert hello.entities == ({"type": "bold", "offset": 7, "length": 4},)

    await running.drained()
    with pytest.raises(AssertionError) as failure:
        await user.expect_message(timeout=0.05)
    assert "Hello, Anna!" in str(failure.value)
    assert "expected a bot 'message'" in str(failure.value)


async def test_button_press_edits_the_message(running: FakeTelegram) -> None:
    user = running.user()
    await user.send("/menu")
    menu = await user.expect_message()
    assert (menu.text, menu.button_texts) == ("Page 1", ["Next ▶"])

    await user.press(menu, "Next ▶")
    edited = await user.expect_edit()
    assert (edited.message_id, edited.text, edited.edit_count) == (menu.message_id, "Page 2", 1)
    assert edited.button("Next ▶").callback_data == "page:3"
    answer = await user.expect_callback_answer()
    assert (answer.text, answer.show_alert, answer.data) == ("Page 2", False, "page:2")
    assert [m.text for m in user.chat.bot_messages] == ["Page 2"]

    await user.press_data(menu.message_id, "forged")
    forged = await user.expect_callback_answer()
    assert (forged.text, forged.show_alert) == ("This button is no longer valid", True)

    with pytest.raises(AssertionError, match="no button 'Back'"):
        await user.press(menu, "Back")


async def test_bot_deletes_the_users_password(running: FakeTelegram) -> None:
    user = running.user()
    secret = await user.send("/password hunter2-Secret")
    assert (await user.expect_message()).text == "Password stored; your message was removed."
    gone = await user.expect_deleted(secret["message_id"])
    assert gone.text == "/password hunter2-Secret"
    assert all("hunter2" not in (m.text or "") for m in user.chat.messages)
    # The bot never sent the secret anywhere.
    assert running.requests_containing("hunter2") == []


async def test_documents_both_ways(running: FakeTelegram) -> None:
    user = running.user()
    await user.send("/export")
    export = await user.expect_message()
    assert export.document is not None
    assert (export.document.file_name, export.document.content) == ("numbers.txt", EXPORT)
    assert export.text == "Your numbers"
    assert [e.action for e in user.chat.events if e.kind == "action"] == ["upload_document"]
    upload = running.requests_for("sendDocument")[-1]
    assert upload.params["document"].startswith("attach://")
    assert EXPORT in upload.body

    await user.send_document(filename="in.txt", content=b"a\nb\nc\n")
    assert (await user.expect_message()).text == "Got in.txt: 6 bytes, 3 lines"


async def test_contact(running: FakeTelegram) -> None:
    user = running.user()
    await user.send_contact(phone="+79991234567", first_name="Ivan")
    assert (await user.expect_message()).text == "Phone: +79991234567"


# ------------------------------------------------------------------------------ errors


async def test_retry_after_and_injected_failures(fake_telegram: FakeTelegram, bot: Bot) -> None:
    tg = fake_telegram
    user = tg.user()
    tg.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(user.id, "x")
    assert flood.value.retry_after == 3
    refused = tg.requests_for("sendMessage")[-1]
    assert refused.status == 429
    assert refused.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert user.chat.messages == []

    await bot.send_message(user.id, "after the flood wait")
    tg.fail_next("sendMessage", status=500, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(user.id, "x")
    tg.fail_next("sendMessage", status=400, description="Bad Request: custom")
    with pytest.raises(TelegramBadRequest, match="custom"):
        await bot.send_message(user.id, "x")
    await bot.send_message(user.id, "fine again")
    assert [m.text for m in user.chat.messages] == ["after the flood wait", "fine again"]


async def test_validation_like_telegram(fake_telegram: FakeTelegram, bot: Bot) -> None:
    tg = fake_telegram
    user = tg.user()
    cases: list[tuple[Any, str]] = [
        (bot.send_message(user.id, "x" * 4097), "message is too long"),
        (bot.send_message(user.id, "  "), "message text is empty"),
        (bot.send_message(424242, "hi"), "chat not found"),
        (
            bot.send_message(
                user.id,
                "hi",
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="ж" * 33)]]
                ),
            ),
            "BUTTON_DATA_INVALID",
        ),
        (bot.delete_message(user.id, 777), "message to delete not found"),
        (bot.edit_message_text("x", chat_id=user.id, message_id=777), "message to edit not found"),
    ]
    for request, error in cases:
        with pytest.raises(TelegramBadRequest, match=error):
            await request

    longest = await bot.send_message(user.id, "x" * 4096)
    assert longest.text == "x" * 4096
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="ж" * 32)]]  # 64 bytes
    )
    sent = await bot.send_message(user.id, "Pick", reply_markup=keyboard)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Pick", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard
        )
    # Like Telegram, an edit without reply_markup drops the inline keyboard.
    await bot.edit_message_text("Pick", chat_id=user.id, message_id=sent.message_id)
    screen = user.chat.get(sent.message_id)
    assert screen is not None and screen.buttons == ()

    user.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "hi")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
async def test_html_is_validated(
    fake_telegram: FakeTelegram, bot: Bot, html: str, reason: str
) -> None:
    user = fake_telegram.user()
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(user.id, html)
    assert error.value.message == f"Bad Request: can't parse entities: {reason}"


def test_html_entities_and_utf16_offsets() -> None:
    text, entities = parse_html(
        ' 😀 <b>Bold</b> &amp; &lt;x&gt; <a href="https://e.com/?a=1&amp;b=2">link</a> '
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span> a & b '
        '<pre><code class="language-py">x = 1</code></pre> '
    )
    assert text == "😀 Bold & <x> link st a & b x = 1"
    # Offsets count UTF-16 units: the emoji takes two, and the trimmed leading space none.
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 14, "length": 4, "url": "https://e.com/?a=1&b=2"},
        {"type": "spoiler", "offset": 19, "length": 1},
        {"type": "spoiler", "offset": 20, "length": 1},
        {"type": "pre", "offset": 28, "length": 5, "language": "py"},
    ]


async def test_commands_roundtrip(fake_telegram: FakeTelegram, bot: Bot) -> None:
    user = fake_telegram.user()
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    ru = [BotCommand(command="balance", description="Баланс")]
    await bot.set_my_commands(ru, language_code="ru")
    scoped = BotCommandScopeChat(chat_id=user.id)
    await bot.set_my_commands([BotCommand(command="admin", description="Admin")], scope=scoped)

    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert [(c.command, c.description) for c in await bot.get_my_commands(language_code="ru")] == [
        ("balance", "Баланс")
    ]
    assert fake_telegram.commands(scope={"type": "chat", "chat_id": user.id})[0]["command"] == (
        "admin"
    )
    await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="/Start", description="x")])


def test_token_sets_bot_id() -> None:
    assert FakeTelegram(token=TEST_TOKEN).bot_id == 123456
    with pytest.raises(ValueError, match="bot id"):
        FakeTelegram(token="nonsense")
