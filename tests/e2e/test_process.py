"""``python -m bot`` as production runs it: killed, restarted, and searched for secrets."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import ROOT, BotProcess
from tests.e2e.helpers import db_bytes
from tests.support.botapi import FakeTelegram
from tests.support.fixtures import TEST_TOKEN


async def test_production_start_login_and_no_secret_anywhere(
    bot_process: BotProcess, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    await bot_process.start()
    user = fake_telegram.user(3001, language_code="ru")
    await user.send("/start")
    assert "/login" in (await user.expect_message()).text
    sent = await user.send(f"/login {LOGIN} {PASSWORD}")
    await user.expect_deleted(sent["message_id"])
    assert LOGIN in (await user.expect_message()).text
    await user.send("/balance")
    await user.expect_message()
    assert await bot_process.kill(signal.SIGTERM) == 0

    secrets = (PASSWORD, TEST_TOKEN, TEST_TOKEN.split(":")[1])
    data_dir = Path(bot_process.env["DATA_DIR"])
    log = bot_process.log()
    assert "Start polling" in log
    stored = await db_bytes(data_dir, bot_process.env.get("DATABASE_URL"))
    for secret in secrets:
        assert secret not in log
        assert secret.encode() not in stored
    # What the bot sent to Telegram, apart from the user's own message it deleted.
    assert not fake_telegram.requests_containing(PASSWORD)
    for request in smsc.requests:
        assert PASSWORD not in request.path + request.raw_query


async def test_conversation_survives_sigkill(
    bot_process: BotProcess, fake_telegram: FakeTelegram
) -> None:
    await bot_process.start()
    user = fake_telegram.user(3002)
    await user.send("/login")
    await user.press(await user.expect_message(), "smsc.kz")
    await user.press(await user.expect_edit(), "Login and password")
    await user.expect_edit()
    await user.send(LOGIN)
    assert "password" in (await user.expect_message()).text
    # Killed at once: the bot may not have confirmed the update yet, so Telegram delivers the
    # login again after the restart; the update journal must keep it from being read as the
    # password.
    assert await bot_process.kill(signal.SIGKILL) == -signal.SIGKILL

    await bot_process.start()
    await user.send(PASSWORD)
    reply = (await user.expect_message()).text
    assert "smsc.kz" in reply and LOGIN in reply


async def test_language_survives_a_restart(
    bot_process: BotProcess, fake_telegram: FakeTelegram
) -> None:
    await bot_process.start()
    user = fake_telegram.user(3003, language_code="en")
    await user.send("/lang")
    await user.press(await user.expect_message(), "Русский")
    await user.expect_edit()
    await bot_process.kill(signal.SIGKILL)
    await bot_process.start()
    await user.send("/help")
    assert "Что я умею" in (await user.expect_message()).text


async def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "@BotFather" in lines[0]
    assert out == b""


async def test_webhook_mode_checks_the_secret_token(
    bot_process: BotProcess, fake_telegram: FakeTelegram
) -> None:
    import aiohttp

    from tests.conftest import closed_port

    port = closed_port()
    bot_process.env.update(
        WEBHOOK_URL="https://bot.example.org",
        WEBHOOK_SECRET="webhook-secret-0042",
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    since = len(fake_telegram.requests)
    await bot_process.start(wait_for="setWebhook")
    set_webhook = fake_telegram.requests_for("setWebhook")[-1]
    assert set_webhook.index >= since
    assert set_webhook.params["url"] == "https://bot.example.org/telegram/webhook"
    assert set_webhook.params["secret_token"] == "webhook-secret-0042"

    update = {
        "update_id": 501,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 3004, "type": "private"},
            "from": {"id": 3004, "is_bot": False, "first_name": "Web"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as response:
            assert response.status == 401
        async with http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "webhook-secret-0042"}
        ) as response:
            assert response.status == 200
    reply = await fake_telegram.wait_for_request(
        "sendMessage", where=lambda r: r.params.get("chat_id") in (3004, "3004"), since=since
    )
    assert "/login" in reply.params["text"]
    assert len(fake_telegram.requests_for("sendMessage")) == 1
    assert "webhook-secret-0042" not in bot_process.log()


async def test_a_webhook_without_a_secret_is_refused_unless_insecure_on_purpose(
    bot_process: BotProcess, fake_telegram: FakeTelegram
) -> None:
    """Without WEBHOOK_SECRET the webhook server would take any POST on 0.0.0.0 as an update
    from Telegram: the bot refuses to start, in one line, unless WEBHOOK_INSECURE=1 says so."""
    from tests.conftest import closed_port

    port = closed_port()
    env = {
        **bot_process.env,
        "WEBHOOK_URL": "https://bot.example.org",
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "WEBHOOK_SECRET" in lines[0] and "WEBHOOK_INSECURE" in lines[0]
    assert out == b""
    assert not fake_telegram.requests_for("setWebhook")

    bot_process.env.update(env, WEBHOOK_INSECURE="1")
    await bot_process.start(wait_for="setWebhook")
    assert "secret_token" not in fake_telegram.requests_for("setWebhook")[-1].params
    # The webhook server keeps the heartbeat too.
    assert await healthy(bot_process)


def docker_health_check() -> str:
    """The shell command of the Dockerfile's HEALTHCHECK, as Docker runs it."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
    return line.split(" CMD ", 1)[1].strip()


async def healthy(bot_process: BotProcess) -> bool:
    env = {
        **bot_process.env,
        # The check's "python" is this test's interpreter, as the image's is the bot's.
        "PATH": f"{Path(sys.executable).parent}:{bot_process.env['PATH']}",
    }
    check = await asyncio.create_subprocess_shell(
        docker_health_check(),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(check.wait(), 30) == 0


async def test_the_health_check_fails_when_the_bot_stops_polling(
    bot_process: BotProcess, fake_telegram: FakeTelegram
) -> None:
    """Opening the database passed as long as the file was there, even with the bot frozen.
    The check now reads the heartbeat polling leaves: a bot stopped (SIGSTOP) while the clock
    moves on is unhealthy, and healthy again once it polls again."""
    import os
    import time

    await bot_process.start()
    assert await healthy(bot_process)
    assert bot_process.process is not None
    bot_process.process.send_signal(signal.SIGSTOP)
    try:
        # Three minutes pass while it is stopped: every file in its data is that old.
        old = time.time() - 180
        for name in os.listdir(bot_process.env["DATA_DIR"]):
            os.utime(os.path.join(bot_process.env["DATA_DIR"], name), (old, old))
        assert not await healthy(bot_process)
    finally:
        bot_process.process.send_signal(signal.SIGCONT)
    user = fake_telegram.user(3005)
    await user.send("/help")
    await user.expect_message()
    assert await healthy(bot_process)
