"""Pytest fixtures for the fake Telegram Bot API server.

Register them for every test module with one line in ``tests/conftest.py``::

    from tests.support.fixtures import fake_telegram  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.botapi import FakeTelegram

# aiogram checks only the token's shape; the part after ':' need not look like Telegram's.
TEST_TOKEN = "123456:TEST-token-for-the-fake-server"


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started :class:`FakeTelegram` on 127.0.0.1; teardown fails the test if it crashed."""
    tg = FakeTelegram(token=TEST_TOKEN)
    await tg.start()
    try:
        yield tg
    finally:
        await tg.stop()
