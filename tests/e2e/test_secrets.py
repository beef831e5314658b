"""Secrets stick nowhere: not in the chat, the FSM table, the audit log, a log line, SMSC's
``login=`` field, or the data folder after /logout; and they are taken only in a private chat."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from bot.app import DB_NAME
from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import BotProcess, RunningBot
from tests.e2e.helpers import db_bytes, login
from tests.support.botapi import FakeTelegram, FakeUser


def data_files(data_dir: Path) -> dict[str, bytes]:
    """The database, its -wal and -shm, as they are on disk right now."""
    return {p.name: p.read_bytes() for p in sorted(data_dir.glob(f"{DB_NAME}*"))}


def files_holding(data_dir: Path, needle: bytes) -> list[str]:
    return [name for name, content in data_files(data_dir).items() if needle in content]


def query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(data_dir / DB_NAME)) as db:
        return db.execute(sql).fetchall()


async def to_login_step(user: FakeUser, site: str = "smsc.ru") -> None:
    await user.send("/login")
    await user.press(await user.expect_message(), site)
    await user.press(await user.expect_edit(), "Login and password")
    await user.expect_edit()


async def send_deleted(user: FakeUser, text: str) -> str:
    """Send ``text``, see it deleted from the chat, return the bot's answer."""
    sent = await user.send(text)
    await user.expect_deleted(sent["message_id"])
    return (await user.expect_message()).text or ""


@pytest.mark.sqlite_only
async def test_a_password_sent_at_the_login_step_is_kept_nowhere(
    bot_process: BotProcess, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """The password typed where the login belongs (it looks like a login) is deleted, sealed in
    the conversation, refused when it comes again as the password, and never reaches SMSC as
    ``login=``, the FSM table, the audit log or the log at LOG_LEVEL=DEBUG."""
    data_dir = Path(bot_process.env["DATA_DIR"])
    await bot_process.start()
    user = fake_telegram.user(3101)
    await to_login_step(user)
    prompt = await send_deleted(user, PASSWORD)
    assert "password" in prompt and PASSWORD not in prompt
    assert not files_holding(data_dir, PASSWORD.encode())
    # Sent once more, now as the password: the same text twice is the password both times.
    again = await send_deleted(user, PASSWORD)
    assert "same as the login" in again
    assert not files_holding(data_dir, PASSWORD.encode())
    # Back at the login step: the right login and password log in.
    assert "password" in await send_deleted(user, LOGIN)
    reply = await send_deleted(user, PASSWORD)
    assert LOGIN in reply and "1,000.00" in reply
    token = bytes(query(data_dir, "SELECT secret FROM accounts")[0][0])  # type: ignore[arg-type]
    assert await bot_process.kill(signal.SIGTERM) == 0

    assert [r.params.get("login") for r in smsc.requests] == [LOGIN]
    targets = [str(row[0]) for row in query(data_dir, "SELECT target FROM audit_log")]
    assert targets == [f"smsc.ru:{LOGIN}"]
    assert not any(PASSWORD in t for t in targets)
    log = bot_process.log()
    # At DEBUG: httpcore logs each request to SMSC (never its form body, where psw= is).
    assert "DEBUG httpcore" in log
    assert PASSWORD not in log
    # aiosqlite logs each call with its parameters at DEBUG: the encrypted secret among them.
    assert token.decode() not in log
    assert "INSERT INTO audit_log" not in log


@pytest.mark.parametrize("text", ["alex Joined-Pa55-9", "Pa55!word#2024"])
async def test_what_is_not_a_login_is_deleted_and_explained(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    register_secret: Callable[..., None],
    text: str,
) -> None:
    register_secret(text.split()[-1])
    user = fake_telegram.user(3102)
    await to_login_step(user)
    reply = await send_deleted(user, text)
    assert "does not look like a login" in reply
    assert not smsc.requests
    # Still at the login step.
    assert "password" in await send_deleted(user, LOGIN)
    assert "1,000.00" in await send_deleted(user, PASSWORD)


async def test_after_a_failed_one_line_login_the_next_message_is_the_password(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3103)
    reply = await send_deleted(user, f"/login {LOGIN} Wrong-Pass-31")
    assert "did not accept" in reply and "password again" in reply
    assert bot.app is not None
    # What the conversation keeps to take the password: nothing readable.
    rows = await bot.app.database.fetchall("SELECT data FROM fsm_state")
    assert rows and not any(LOGIN in str(row[0]) for row in rows)
    reply = await send_deleted(user, PASSWORD)
    assert LOGIN in reply and "1,000.00" in reply
    last = smsc.requests[-1]
    assert (last.params.get("login"), last.params.get("psw")) == (LOGIN, PASSWORD)


async def test_after_a_failed_one_line_apikey_login_the_next_message_is_the_key(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    register_secret: Callable[..., None],
) -> None:
    key = "keyed-api-key-3104"
    register_secret(key)
    smsc.add_account("keyed", "Keyed-Password-1", apikey=key)
    user = fake_telegram.user(3104)
    assert "did not accept" in await send_deleted(user, "/login apikey wrong-key-3104")
    assert "1,000.00" in await send_deleted(user, key)
    assert smsc.requests[-1].params.get("apikey") == key


async def test_logout_leaves_no_credential_bytes_in_the_data_folder(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """After /logout neither the database nor its -wal holds the encrypted secret, and the log-in
    conversation that was under way is gone too."""
    assert bot.app is not None
    database = bot.app.database

    async def stored() -> bytes:
        return await db_bytes(bot.settings.data_dir, bot.settings.database_url)

    user = fake_telegram.user(3105)
    reply = await send_deleted(user, f"/login {LOGIN} {PASSWORD}")
    assert "1,000.00" in reply
    rows = await database.fetchall(
        "SELECT secret FROM accounts WHERE id = (SELECT account_id FROM chats WHERE chat_id = 3105)"
    )
    token = bytes(next(iter(rows))[0])
    # A second log-in started and left at the password step: its login is sealed in the FSM row.
    await to_login_step(user, "smsc.kz")
    await send_deleted(user, "bob-the-builder")
    rows = await database.fetchall("SELECT data FROM fsm_state WHERE chat_id = 3105")
    assert rows
    assert token in await stored()  # the test can see what it looks for

    await user.send("/logout")
    await user.press(await user.expect_message(), "Yes")
    assert "Logged out" in (await user.expect_edit()).text
    assert await database.fetchall("SELECT * FROM fsm_state WHERE chat_id = 3105") == []
    assert await bot.app.accounts.repo.get(3105) is None
    assert token not in await stored()
    assert PASSWORD.encode() not in await stored()
    assert b"bob-the-builder" not in await stored()
    # The conversation is over: a password now is stray text, not a log-in.
    await user.send(PASSWORD)
    assert "password" not in ((await user.expect_message()).text or "")


async def test_login_in_a_group_chat_is_refused_and_the_secret_deleted(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    member = fake_telegram.in_group(fake_telegram.user(3106))
    for text in (f"/login {LOGIN} {PASSWORD}", "/login apikey some-api-key-3106"):
        reply = await send_deleted(member, text)
        assert "change it on SMSC's site" in reply
        reply = (await member.expect_message()).text or ""
        assert "private chat" in reply
    await member.send("/login")
    reply = await member.expect_message()
    # The way on: a deep link to the private chat, never a question in the group.
    assert "private chat" in (reply.text or "") and reply.button_texts == ["Log in privately"]
    await fake_telegram.drained()
    assert not smsc.requests
    assert bot.app is not None
    assert await bot.app.accounts.repo.get(member.chat.id) is None


async def test_a_one_line_login_that_is_not_a_login_is_not_sent(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3107)
    reply = await send_deleted(user, f"/login Pa55!word#2024 {PASSWORD}")
    assert "does not look like a login" in reply and "/login" in reply
    assert not smsc.requests


async def test_a_one_line_login_with_three_words_gets_the_usage(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """The usage names its placeholders in angle brackets, which HTML parse mode would refuse."""
    user = fake_telegram.user(3108)
    reply = await send_deleted(user, f"/login {LOGIN} {PASSWORD} extra")
    assert "/login <login> <password>" in reply
    assert not smsc.requests


async def test_the_saved_password_sent_as_a_plain_message_is_deleted_in_a_private_chat(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(6301, language_code="ru")
    await login(user, expect=None)
    before = len(smsc.requests)
    sent = await user.send(f"мой пароль {PASSWORD}")
    await user.expect_deleted(sent["message_id"])
    answer = await user.expect_message()
    assert "удалил" in (answer.text or "") and PASSWORD not in (answer.text or "")
    assert answer.button_texts == ["⬅ Меню"]
    # Anything else no step takes is still just answered.
    await user.send("привет")
    assert "/help" in ((await user.expect_message()).text or "")
    assert len(smsc.requests) == before
