"""Fixtures for the storage tests: a real database file in tmp_path and a key box."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.crypto import SecretBox
from bot.storage.db import open_database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.db"


@pytest.fixture
async def conn(db_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await open_database(db_path)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.generate_key()])
