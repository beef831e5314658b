"""End-to-end fixtures: the bot against the fake Telegram server and the SMSC emulator.

``bot`` runs the real application in-process (fast, and the database can be inspected);
``bot_process`` runs ``python -m bot`` as production does, so it can be killed and restarted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import App, build_app
from bot.config import Settings
from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN, PASSWORD
from tests.support.botapi import FakeTelegram
from tests.support.fixtures import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def smsc() -> AsyncIterator[SmscEmulator]:
    emulator = SmscEmulator()
    emulator.add_account(LOGIN, PASSWORD)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def make_settings(
    fake_telegram: FakeTelegram, smsc: SmscEmulator, tmp_path: Path, secret_key: str
) -> type[Settings]:
    """Settings for a test bot; keyword arguments override the defaults."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "bot_token": TEST_TOKEN,
            "telegram_api_url": fake_telegram.base_url,
            "smsc_api_url": smsc.base_url,
            "data_dir": tmp_path / "data",
            "secret_key": secret_key,
            # Every /balance reaches the emulator, so tests see what SMSC answers each time.
            "smsc_cache_ttl": 0,
        }
        values.update(overrides)
        # _env_file=None: a developer's .env must not leak into a test.
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make  # type: ignore[return-value]


@dataclass
class RunningBot:
    """An in-process bot; ``restart`` closes it and builds a new one on the same data."""

    telegram: FakeTelegram
    settings: Settings
    app: App | None = None
    _polling: object | None = field(default=None, repr=False)

    async def start(self) -> App:
        self.app = await build_app(self.settings)
        self._polling = self.telegram.polling(self.app.dp, self.app.bot)
        await self._polling.__aenter__()  # type: ignore[attr-defined]
        return self.app

    async def stop(self) -> None:
        if self._polling is not None:
            await self._polling.__aexit__(None, None, None)  # type: ignore[attr-defined]
            self._polling = None
        if self.app is not None:
            await self.app.close()
            self.app = None

    async def restart(self) -> App:
        await self.stop()
        return await self.start()


@pytest.fixture
async def bot(
    fake_telegram: FakeTelegram, make_settings: type[Settings]
) -> AsyncIterator[RunningBot]:
    running = RunningBot(fake_telegram, make_settings())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@dataclass
class BotProcess:
    """``python -m bot`` as production runs it, with its log captured to a file."""

    telegram: FakeTelegram
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        since = len(self.telegram.requests)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        # Polling has begun once the new process asks for updates.
        await self.telegram.wait_for_request("getUpdates", since=since, timeout=30)

    async def kill(self, signum: int = signal.SIGKILL) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), 30)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
async def bot_process(
    fake_telegram: FakeTelegram, smsc: SmscEmulator, tmp_path: Path, secret_key: str
) -> AsyncIterator[BotProcess]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": fake_telegram.base_url,
        "SMSC_API_URL": smsc.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": secret_key,
        "LOG_LEVEL": "DEBUG",
        "POLLING_TASKS": "0",
    }
    running = BotProcess(fake_telegram, env, tmp_path / "bot.log")
    try:
        yield running
    finally:
        if running.process is not None:
            await running.kill(signal.SIGTERM)
