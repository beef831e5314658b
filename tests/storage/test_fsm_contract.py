"""The behaviour aiogram's storages share (the contract of aiogram's own storage tests, and more),
checked on MemoryStorage, SQLiteStorage and PostgresStorage alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.storage.engine import PostgresDatabase
from bot.storage.fsm import SQLiteStorage
from bot.storage.fsm_pg import PostgresStorage
from tests.support.servers import fresh_database

KEY = StorageKey(bot_id=42, chat_id=-100123, user_id=7)


class Form(StatesGroup):
    name = State()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BaseStorage]:
    if request.param == "memory":
        store: BaseStorage = MemoryStorage()
    elif request.param == "sqlite":
        store = await SQLiteStorage.open(tmp_path / "fsm.db")
    else:
        async with fresh_database(request.getfixturevalue("postgres")) as url:
            database = await PostgresDatabase.connect(url)
            try:
                yield PostgresStorage(database)
            finally:
                await database.close()
        return
    try:
        yield store
    finally:
        await store.close()


async def test_set_state(storage: BaseStorage) -> None:
    assert await storage.get_state(KEY) is None
    await storage.set_state(KEY, "state")
    assert await storage.get_state(KEY) == "state"
    await storage.set_state(KEY, None)
    assert await storage.get_state(KEY) is None


async def test_state_object_is_stored_by_name(storage: BaseStorage) -> None:
    await storage.set_state(KEY, Form.name)
    assert await storage.get_state(KEY) == "Form:name"


async def test_set_data(storage: BaseStorage) -> None:
    assert await storage.get_data(KEY) == {}
    await storage.set_data(KEY, {"foo": "bar"})
    assert await storage.get_data(KEY) == {"foo": "bar"}
    await storage.set_data(KEY, {})
    assert await storage.get_data(KEY) == {}


async def test_update_data(storage: BaseStorage) -> None:
    assert await storage.get_data(KEY) == {}
    assert await storage.update_data(KEY, {"foo": "bar"}) == {"foo": "bar"}
    assert await storage.update_data(KEY, {}) == {"foo": "bar"}
    assert await storage.get_data(KEY) == {"foo": "bar"}
    assert await storage.update_data(KEY, {"baz": "spam"}) == {"foo": "bar", "baz": "spam"}
    assert await storage.update_data(KEY, {"baz": "test"}) == {"foo": "bar", "baz": "test"}
    assert await storage.get_data(KEY) == {"foo": "bar", "baz": "test"}


# What a user can type, and what escaping it must not confuse: U+0000 (jsonb holds none), U+0001,
# and the backslash escapes JSON itself uses.
TEXTS = ["line\x00end", "\x00", "a\x01b", "\x01\x02", "\x01\x00\x01", "\\u0000", "\\x00", "\x01"]


async def test_any_text_comes_back_as_it_was(storage: BaseStorage) -> None:
    data = {text: [text, {"k": text}] for text in TEXTS}
    await storage.set_data(KEY, data)
    assert await storage.get_data(KEY) == data
    assert await storage.update_data(KEY, {"more": "x\x00y"}) == {**data, "more": "x\x00y"}
    assert await storage.get_data(KEY) == {**data, "more": "x\x00y"}


async def test_get_value(storage: BaseStorage) -> None:
    await storage.set_data(KEY, {"hello": "world"})
    assert await storage.get_value(KEY, "hello") == "world"
    assert await storage.get_value(KEY, "missing") is None
    assert await storage.get_value(KEY, "missing", "default") == "default"


async def test_clearing_data_keeps_state(storage: BaseStorage) -> None:
    await storage.set_state(KEY, "Login:password")
    await storage.set_data(KEY, {"login": "alice"})
    await storage.set_data(KEY, {})
    assert await storage.get_state(KEY) == "Login:password"
    assert await storage.get_data(KEY) == {}


async def test_clearing_state_keeps_data(storage: BaseStorage) -> None:
    await storage.set_state(KEY, "Login:password")
    await storage.set_data(KEY, {"login": "alice"})
    await storage.set_state(KEY, None)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {"login": "alice"}


async def test_clear_then_reuse(storage: BaseStorage) -> None:
    await storage.set_state(KEY, "a")
    await storage.set_data(KEY, {"x": 1})
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    assert (await storage.get_state(KEY), await storage.get_data(KEY)) == (None, {})
    await storage.set_state(KEY, "b")
    assert (await storage.get_state(KEY), await storage.get_data(KEY)) == ("b", {})


@pytest.mark.parametrize(
    "other",
    [
        StorageKey(bot_id=43, chat_id=-100123, user_id=7),
        StorageKey(bot_id=42, chat_id=-100124, user_id=7),
        StorageKey(bot_id=42, chat_id=-100123, user_id=8),
        StorageKey(bot_id=42, chat_id=-100123, user_id=7, thread_id=5),
        StorageKey(bot_id=42, chat_id=-100123, user_id=7, thread_id=0),
        StorageKey(bot_id=42, chat_id=-100123, user_id=7, business_connection_id="biz"),
        StorageKey(bot_id=42, chat_id=-100123, user_id=7, business_connection_id=""),
        StorageKey(bot_id=42, chat_id=-100123, user_id=7, destiny="scene"),
    ],
    ids=["bot", "chat", "user", "thread", "thread-0", "business", "business-empty", "destiny"],
)
async def test_keys_are_isolated(storage: BaseStorage, other: StorageKey) -> None:
    await storage.set_state(KEY, "mine")
    await storage.set_data(KEY, {"who": "me"})
    assert await storage.get_state(other) is None
    assert await storage.get_data(other) == {}

    await storage.set_state(other, "theirs")
    await storage.set_data(other, {"who": "them"})
    await storage.set_state(KEY, "mine again")
    assert await storage.get_state(other) == "theirs"
    assert await storage.get_data(other) == {"who": "them"}
    assert await storage.get_state(KEY) == "mine again"
    assert await storage.get_data(KEY) == {"who": "me"}


async def test_returned_data_is_a_copy(storage: BaseStorage) -> None:
    await storage.set_data(KEY, {"a": 1})
    data = await storage.get_data(KEY)
    data["a"] = 2
    assert await storage.get_data(KEY) == {"a": 1}
    given = {"b": 1}
    await storage.set_data(KEY, given)
    given["b"] = 2
    assert await storage.get_data(KEY) == {"b": 1}


async def test_data_must_be_a_dict(storage: BaseStorage) -> None:
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(KEY, [("a", 1)])  # type: ignore[arg-type]


async def test_concurrent_updates_of_one_key_all_land(storage: BaseStorage) -> None:
    await asyncio.gather(*(storage.update_data(KEY, {f"k{i}": i}) for i in range(20)))
    assert await storage.get_data(KEY) == {f"k{i}": i for i in range(20)}


async def test_concurrent_writes_to_many_keys(storage: BaseStorage) -> None:
    keys = [StorageKey(bot_id=1, chat_id=c, user_id=c) for c in range(100)]
    await asyncio.gather(*(storage.set_state(k, f"s{k.chat_id}") for k in keys))
    await asyncio.gather(*(storage.update_data(k, {"n": k.chat_id}) for k in keys))
    for key in keys:
        assert await storage.get_state(key) == f"s{key.chat_id}"
        assert await storage.get_data(key) == {"n": key.chat_id}


async def test_close_twice(storage: BaseStorage) -> None:
    await storage.set_state(KEY, "x")
    await storage.close()
    await storage.close()
