"""What SQLiteStorage adds to the shared contract: durability, locking, shutdown, its table."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import aiosqlite
import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.crypto import SecretBox
from bot.storage.accounts import AccountRepo
from bot.storage.fsm import SQLiteStorage, StorageBusyError, StorageClosedError

KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)


def rows(path: Path) -> list[tuple[object, ...]]:
    """The fsm_state table as another connection sees it: only committed writes."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(
            "SELECT chat_id, thread_id, business_connection_id, destiny, state, data"
            " FROM fsm_state ORDER BY rowid"
        ).fetchall()


def wal_frames(path: Path) -> int:
    """Pages appended to the write-ahead log so far; every commit appends at least one."""
    size = path.with_name(path.name + "-wal").stat().st_size
    return (size - 32) // (24 + 1024) if size else 0


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Hold the database's write lock from another connection, as a long writer would."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("COMMIT")
        db.close()


Opener = Callable[..., Awaitable[SQLiteStorage]]


@pytest.fixture
def fsm_path(tmp_path: Path) -> Path:
    return tmp_path / "fsm.db"


@pytest.fixture
async def open_storage(fsm_path: Path) -> AsyncIterator[Opener]:
    """Open storages on fsm_path; all are closed at teardown even if the test failed
    (an unclosed aiosqlite connection keeps its thread, and so the test run, alive)."""
    opened: list[SQLiteStorage] = []

    async def open_(busy_wait: float = 10.0) -> SQLiteStorage:
        storage = await SQLiteStorage.open(fsm_path, busy_wait=busy_wait)
        opened.append(storage)
        return storage

    yield open_
    for storage in opened:
        await storage.close()


async def spin(rounds: int = 20) -> None:
    """Let the event loop run other tasks for a while without depending on wall-clock time."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_survives_reopen(open_storage: Opener, fsm_path: Path) -> None:
    threaded = StorageKey(bot_id=42, chat_id=1001, user_id=1001, thread_id=9, destiny="scene")
    storage = await open_storage()
    await storage.set_state(KEY, "Login:password")
    await storage.set_data(KEY, {"login": "alice", "tries": [1, 2], "name": "Вика"})
    await storage.set_state(threaded, "Other:step")
    await storage.close()

    storage = await open_storage()
    assert await storage.get_state(KEY) == "Login:password"
    assert await storage.get_data(KEY) == {"login": "alice", "tries": [1, 2], "name": "Вика"}
    assert await storage.get_state(threaded) == "Other:step"
    assert await storage.get_data(threaded) == {}
    await storage.close()


async def test_every_write_is_committed_when_it_returns(
    open_storage: Opener, fsm_path: Path
) -> None:
    storage = await open_storage()
    await storage.set_state(KEY, "a")
    assert rows(fsm_path) == [(1001, None, None, "default", "a", "{}")]
    await storage.update_data(KEY, {"x": 1})
    assert rows(fsm_path) == [(1001, None, None, "default", "a", '{"x":1}')]
    await storage.close()


async def test_a_cleared_key_leaves_no_row(open_storage: Opener, fsm_path: Path) -> None:
    storage = await open_storage()
    await storage.set_state(KEY, "a")
    await storage.set_data(KEY, {"x": 1})
    await storage.set_state(KEY, None)
    assert len(rows(fsm_path)) == 1  # data is still there
    await storage.set_data(KEY, {})
    assert rows(fsm_path) == []
    await storage.set_data(KEY, {"y": 2})
    assert rows(fsm_path) == [(1001, None, None, "default", None, '{"y":2}')]
    await storage.close()


async def test_optional_key_parts_make_one_row_each(open_storage: Opener, fsm_path: Path) -> None:
    keys = [
        KEY,
        StorageKey(bot_id=42, chat_id=1001, user_id=1001, thread_id=0),
        StorageKey(bot_id=42, chat_id=1001, user_id=1001, business_connection_id=""),
    ]
    storage = await open_storage()
    for round_ in range(3):
        for key in keys:
            await storage.set_state(key, f"s{round_}")
    await storage.close()
    assert sorted(rows(fsm_path), key=repr) == sorted(
        [
            (1001, None, None, "default", "s2", "{}"),
            (1001, 0, None, "default", "s2", "{}"),
            (1001, None, "", "default", "s2", "{}"),
        ],
        key=repr,
    )


async def test_data_round_trips_through_json(open_storage: Opener) -> None:
    storage = await open_storage()
    await storage.set_data(KEY, {"pair": (1, 2)})
    # Decoded on every read, so this is what the handler sees now and after a restart.
    assert await storage.get_data(KEY) == {"pair": [1, 2]}
    with pytest.raises(TypeError, match="JSON-serialisable"):
        await storage.set_data(KEY, {"when": object()})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        await storage.update_data(KEY, {"items": {1, 2}})
    assert await storage.get_data(KEY) == {"pair": [1, 2]}  # a refused write changes nothing
    with pytest.raises(TypeError, match="state"):
        await storage.set_state(KEY, 5)  # type: ignore[arg-type]
    await storage.close()


async def test_shares_the_bot_connection(conn: aiosqlite.Connection, box: SecretBox) -> None:
    storage = SQLiteStorage(conn)
    repo = AccountRepo(conn, box)
    await asyncio.gather(
        storage.set_state(KEY, "a"),
        repo.set_language(1001, "ru"),
        storage.update_data(KEY, {"x": 1}),
    )
    await storage.close()
    assert await repo.get_language(1001) == "ru"  # closing the storage left the connection open
    storage = SQLiteStorage(conn)
    assert await storage.get_state(KEY) == "a"
    assert await storage.get_data(KEY) == {"x": 1}
    await storage.close()


async def test_in_memory_database_is_refused() -> None:
    async with aiosqlite.connect(":memory:") as memory:
        storage = SQLiteStorage(memory)
        with pytest.raises(ValueError, match="database file"):
            await storage.get_state(KEY)


async def test_waits_for_a_locked_database_without_blocking_the_loop(
    open_storage: Opener, fsm_path: Path
) -> None:
    storage = await open_storage()
    await storage.set_state(KEY, "before")
    other = StorageKey(bot_id=42, chat_id=2002, user_id=2002)
    with write_locked(fsm_path):
        writes = [
            asyncio.create_task(storage.set_state(KEY, "after")),
            asyncio.create_task(storage.update_data(other, {"n": 1})),
        ]
        await spin()
        assert not any(task.done() for task in writes)
        # Accepted writes are visible to readers at once, as with MemoryStorage.
        assert await storage.get_state(KEY) == "after"
        assert await storage.get_data(other) == {"n": 1}
    await asyncio.wait_for(asyncio.gather(*writes), timeout=5)
    assert sorted(rows(fsm_path), key=repr) == sorted(
        [
            (1001, None, None, "default", "after", "{}"),
            (2002, None, None, "default", None, '{"n":1}'),
        ],
        key=repr,
    )
    await storage.close()


async def test_gives_up_on_a_database_locked_too_long(open_storage: Opener, fsm_path: Path) -> None:
    storage = await open_storage(busy_wait=0.05)
    await storage.set_state(KEY, "before")
    with write_locked(fsm_path), pytest.raises(StorageBusyError):
        await storage.set_state(KEY, "after")
    # The refused write is forgotten: memory agrees with the database, and writing works again.
    assert await storage.get_state(KEY) == "before"
    await storage.set_state(KEY, "again")
    assert rows(fsm_path) == [(1001, None, None, "default", "again", "{}")]
    await storage.close()


async def test_close_waits_for_accepted_writes(open_storage: Opener, fsm_path: Path) -> None:
    storage = await open_storage()
    with write_locked(fsm_path):
        write = asyncio.create_task(storage.set_state(KEY, "late"))
        await spin()
        closing = asyncio.create_task(storage.close())
        await spin()
        assert not write.done()
        assert not closing.done()
    await asyncio.wait_for(asyncio.gather(write, closing), timeout=5)
    assert rows(fsm_path) == [(1001, None, None, "default", "late", "{}")]


async def test_use_after_close_fails_fast(open_storage: Opener) -> None:
    storage = await open_storage()
    await storage.set_state(KEY, "a")
    await storage.close()
    with pytest.raises(StorageClosedError):
        await asyncio.wait_for(storage.set_state(KEY, "b"), timeout=1)
    with pytest.raises(StorageClosedError):
        await asyncio.wait_for(storage.update_data(KEY, {"x": 1}), timeout=1)
    with pytest.raises(StorageClosedError):
        await asyncio.wait_for(storage.get_state(KEY), timeout=1)


async def test_close_while_handlers_are_still_writing(open_storage: Opener, fsm_path: Path) -> None:
    storage = await open_storage()
    keys = [StorageKey(bot_id=1, chat_id=c, user_id=c) for c in range(50)]

    async def handler(key: StorageKey) -> str:
        try:
            await storage.set_state(key, "step1")
            await asyncio.sleep(0)
            await storage.set_state(key, "step2")
        except StorageClosedError:
            return "refused"
        return "done"

    handlers = [asyncio.create_task(handler(key)) for key in keys]
    await asyncio.sleep(0)
    await storage.close()
    outcomes = await asyncio.wait_for(asyncio.gather(*handlers), timeout=5)
    stored = {row[0]: row[4] for row in rows(fsm_path)}
    # Every write that returned is in the file; the ones after close() were refused, not lost.
    for key, outcome in zip(keys, outcomes, strict=True):
        assert stored.get(key.chat_id) == ("step2" if outcome == "done" else "step1")
    assert "refused" in outcomes


async def test_writes_queued_behind_a_lock_commit_together(
    open_storage: Opener, fsm_path: Path
) -> None:
    storage = await open_storage()
    keys = [StorageKey(bot_id=1, chat_id=c, user_id=c) for c in range(100)]
    await storage.set_state(keys[0], "warm-up")
    frames = wal_frames(fsm_path)

    async def step(key: StorageKey) -> None:
        await storage.set_state(key, "s")
        # Returned, so committed: another connection must see this row right now.
        with closing(sqlite3.connect(fsm_path)) as db:
            found = db.execute("SELECT state FROM fsm_state WHERE chat_id = ?", (key.chat_id,))
            assert found.fetchone() == ("s",)

    with write_locked(fsm_path):
        steps = asyncio.gather(*(step(key) for key in keys))
        await spin()
    await asyncio.wait_for(steps, timeout=5)
    # One commit each would have appended at least 100 frames; one group commit needs a few pages.
    assert wal_frames(fsm_path) - frames < 50


async def test_clear_chat_deletes_only_that_chats_matching_conversations(
    open_storage: Opener, fsm_path: Path
) -> None:
    other_user = StorageKey(bot_id=42, chat_id=1001, user_id=7, destiny="default")
    other_chat = StorageKey(bot_id=42, chat_id=2002, user_id=2002)
    storage = await open_storage()
    for key, state in ((KEY, "LoginForm:secret"), (other_user, "Other:step")):
        await storage.set_state(key, state)
        await storage.set_data(key, {"x": 1})
    await storage.set_state(other_chat, "LoginForm:login")

    assert await storage.clear_chat(1001, "LoginForm:") == 1
    assert await storage.get_state(KEY) is None and await storage.get_data(KEY) == {}
    assert await storage.get_state(other_user) == "Other:step"
    assert await storage.get_state(other_chat) == "LoginForm:login"
    assert [(r[0], r[4]) for r in rows(fsm_path)] == [
        (1001, "Other:step"),
        (2002, "LoginForm:login"),
    ]
