"""Shared fixtures: a manual clock, the SMSC emulator on 127.0.0.1 and a client connector."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.smsc import Credentials, SmscClient, SmscConnector, SmscSettings
from bot.smsc.emulator import SmscEmulator
from tests.support.fixtures import fake_telegram  # noqa: F401 - registered for every test
from tests.support.servers import (
    Postgres,
    Redis,
    fresh_database,
    postgres_server,
    redis_server,
)

LOGIN = "alice"
PASSWORD = "Alice-Secret-Pw-7731"
APIKEY = "alice-apikey-5f1e2d3c4b5a"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the storage the e2e bots run on; postgresql: a new database for each test on the"
        " session's PostgreSQL server (docs/scaling.md, Tests)",
    )


class ManualClock:
    """A monotonic clock that only moves when a test says so (rate windows without sleeping)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[SmscEmulator]:
    emu = SmscEmulator(clock=clock)
    emu.add_account(LOGIN, PASSWORD, apikey=APIKEY)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def connector(emulator: SmscEmulator, clock: ManualClock) -> AsyncIterator[SmscConnector]:
    conn = SmscConnector(SmscSettings(api_url=emulator.base_url), clock=clock)
    try:
        yield conn
    finally:
        await conn.aclose()


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.with_password(LOGIN, PASSWORD)


@pytest.fixture
def smsc(connector: SmscConnector, credentials: Credentials) -> SmscClient:
    """A client of the test account (in tests/e2e, ``smsc`` is the emulator the bot talks to)."""
    return connector.client(credentials)


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL server for the whole session (initdb in a temporary directory)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    """A real redis-server for the whole session."""
    with redis_server() as server:
        yield server


@pytest.fixture
async def pg_url(postgres: Postgres) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's PostgreSQL server; dropped afterwards."""
    async with fresh_database(postgres) as url:
        yield url
