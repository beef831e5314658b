"""End-to-end fixtures: the bot against the fake Telegram server and the SMSC emulator.

``bot`` runs the real application in-process (fast, and the database can be inspected);
``bot_process`` runs ``python -m bot`` as production does, so it can be killed and restarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import pytest
from cryptography.fernet import Fernet

from bot.app import MAX_CONCURRENT_UPDATES, App, build_app
from bot.config import Settings
from bot.smsc.emulator import SmscEmulator
from tests.conftest import APIKEY, LOGIN, PASSWORD
from tests.support.botapi import FakeTelegram
from tests.support.fixtures import TEST_TOKEN
from tests.support.servers import database_bytes, fresh_database

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


def on_postgres(config: pytest.Config) -> bool:
    """Whether the e2e bots run on PostgreSQL (``pytest --engine=postgresql``)."""
    return bool(config.getoption("engine") == "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: inspects the SQLite file itself; skipped with --engine=postgresql"
    )


@pytest.fixture
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """The test's own new PostgreSQL database with ``--engine=postgresql``, else None (SQLite
    in the test's data directory); dropped after the test."""
    if not on_postgres(request.config):
        yield None
        return
    async with fresh_database(request.getfixturevalue("postgres")) as url:
        yield url


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def make_settings(
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    tmp_path: Path,
    secret_key: str,
    database_url: str | None,
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
        if database_url is not None:
            values["database_url"] = database_url
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
    # The wall clock of the failed-authorisation budget (epoch seconds); None: time.time.
    clock: Callable[[], float] | None = None
    _polling: object | None = field(default=None, repr=False)

    async def _build(self) -> App:
        if self.clock is None:
            return await build_app(self.settings)
        return await build_app(self.settings, clock=self.clock)

    def _polling_options(self) -> dict[str, Any]:
        return {}

    async def start(self) -> App:
        """Build the app and poll; on PostgreSQL, back once the notifier runs.

        There it runs once its advisory lock is taken, in a task of its own (at once on SQLite):
        a test driving ``notifier.tick()`` before that would race with its start.
        """
        self.app = app = await self._build()
        running: asyncio.Event | None = None
        if self.settings.database_url is not None:
            running = asyncio.Event()
            start_notifier = app.notifier.start

            def start_and_tell() -> None:
                start_notifier()
                running.set()

            app.notifier.start = start_and_tell  # type: ignore[method-assign]
        self._polling = self.telegram.polling(app.dp, app.bot, **self._polling_options())
        await self._polling.__aenter__()  # type: ignore[attr-defined]
        if running is not None:
            await asyncio.wait_for(running.wait(), 30)
        return app

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

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


@pytest.fixture
async def bot(
    fake_telegram: FakeTelegram, make_settings: type[Settings]
) -> AsyncIterator[RunningBot]:
    async with RunningBot(fake_telegram, make_settings()) as running:
        yield running


@dataclass
class BotProcess:
    """``python -m bot`` as production runs it, with its log captured to a file."""

    telegram: FakeTelegram
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self, wait_for: str = "getUpdates") -> None:
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
        # Running once the new process asks for updates (or, for a webhook, sets it).
        await self.telegram.wait_for_request(wait_for, since=since, timeout=30)

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
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    tmp_path: Path,
    secret_key: str,
    database_url: str | None,
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
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    running = BotProcess(fake_telegram, env, tmp_path / "bot.log")
    try:
        yield running
    finally:
        if running.process is not None:
            await running.kill(signal.SIGTERM)


# ---------------------------------------------------------------- no secret anywhere
#
# Every e2e test ends by searching what the bot left behind for the test secrets: the files in
# the test's directory (SQLite database, WAL, a subprocess's log), every log record, every request
# the bot sent to Telegram and every URL it sent to SMSC. POST bodies to SMSC are exempt: that is
# where the credentials belong.

# Levels the log search listens at: the bot's own loggers fully, libraries as production runs them.
_WATCHED_LOGGERS = {"": logging.INFO, "bot": logging.DEBUG, "handlers": logging.DEBUG}


class _LogText(logging.Handler):
    """Keeps every record as formatted text, traceback included, for the search at the end."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Formatted now: a record keeps its traceback's frames alive until it is dropped.
        self.lines.append(self.format(record))


@dataclass
class SecretWatch:
    """The secrets the current test must not leave anywhere; tests add their own."""

    # Out of repr: pytest shows fixtures' values in a failure report.
    secrets: set[str] = field(default_factory=set, repr=False)

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s)


@pytest.fixture(autouse=True)
async def no_secret_anywhere(
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    tmp_path: Path,
    secret_key: str,
    database_url: str | None,
) -> AsyncIterator[SecretWatch]:
    """Fails the test when a secret turns up in files, the PostgreSQL database, logs, Telegram
    requests or SMSC URLs.

    Being autouse, it is set up before the test's own fixtures (``bot``, ``bot_process``) and so
    torn down after them: the application is closed and the database flushed when it searches.
    """
    watch = SecretWatch()
    watch.add(PASSWORD, APIKEY, TEST_TOKEN.split(":", 1)[1], secret_key)
    handler = _LogText()
    saved = {name: logging.getLogger(name).level for name in _WATCHED_LOGGERS}
    for name, level in _WATCHED_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    logging.getLogger().addHandler(handler)
    try:
        yield watch
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    stored = b"" if database_url is None else await database_bytes(database_url)
    found = _secret_findings(watch.secrets, handler.lines, fake_telegram, smsc, tmp_path, stored)
    if found:
        pytest.fail("a secret was left behind:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def register_secret(no_secret_anywhere: SecretWatch) -> Callable[..., None]:
    """``register_secret(*values)``: also search for these (a subclient's password, ...)."""
    return no_secret_anywhere.add


def _secret_findings(
    secrets: set[str],
    log_lines: list[str],
    telegram: FakeTelegram,
    smsc: SmscEmulator,
    directory: Path,
    database: bytes,
) -> list[str]:
    found: list[str] = []
    # Only the length is shown: the failure report must not become the leak.
    for secret in sorted(secrets):
        label = f"secret of {len(secret)} characters"
        raw = secret.encode()
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            if raw in path.read_bytes():
                found.append(f"{label} in {path.relative_to(directory)}")
        if raw in database:
            found.append(f"{label} in the PostgreSQL database")
        found += [
            f"{label} in a log record of {line.split(':', 1)[0]}"
            for line in log_lines
            if secret in line
        ]
        found += [
            f"{label} in Telegram request #{r.index} {r.method}"
            for r in telegram.requests_containing(secret)
        ]
        found += [
            f"{label} in the URL of SMSC request {r.path}"
            for r in smsc.requests
            if secret in r.path + "?" + r.raw_query
        ]
    return found


# ---------------------------------------------------------------- concurrent handling


class ConcurrentBot(RunningBot):
    """The in-process bot handling each update in its own task, as production polls
    (``POLLING_TASKS`` is true by default). ``drained`` then no longer covers the handlers."""

    def _polling_options(self) -> dict[str, Any]:
        return {"handle_as_tasks": True, "tasks_concurrency_limit": MAX_CONCURRENT_UPDATES}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The phone-width check of every keyboard seen goes last, after every test that shows one.
    On PostgreSQL the tests of the SQLite file itself are skipped."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/test_widths.py"))
    if on_postgres(config):
        skip = pytest.mark.skip(reason="inspects the SQLite file (--engine=postgresql)")
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(skip)
