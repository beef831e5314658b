"""Durable aiogram FSM storage on SQLite; reads come from memory, every write is committed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.db import checkpoint, open_database

log = logging.getLogger(__name__)

# A passive checkpoint copies the WAL back into the database file (with an fsync) on a worker
# thread, so the event loop never waits for it. It copies each changed page once however
# many commits touched it, so rarer checkpoints cost less per commit (measured: every 1000 commits
# cost the dispatcher benchmark a few percent). 4000 one-page commits is a WAL of about 4 MB, the
# size SQLite's own default (1000 pages of 4 KiB) allows.
CHECKPOINT_EVERY = 4000

_EMPTY_DATA = "{}"

_KEY_MATCH = (
    "bot_id = ? AND chat_id = ? AND user_id = ? AND ifnull(thread_id, '') = ifnull(?, '')"
    " AND ifnull(business_connection_id, x'') = ifnull(?, x'') AND destiny = ?"
)
_SELECT_ALL = """
    SELECT rowid, bot_id, chat_id, user_id, thread_id, business_connection_id, destiny, state, data
    FROM fsm_state
"""
_SELECT_ROWID = f"SELECT rowid FROM fsm_state WHERE {_KEY_MATCH}"  # noqa: S608 (constant)
_UPDATE = """
    UPDATE fsm_state SET state = ?, data = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE rowid = ?
"""
_DELETE = "DELETE FROM fsm_state WHERE rowid = ?"
_INSERT = """
    INSERT INTO fsm_state
        (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny, state, data)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_UPSERT = (
    _INSERT
    + """
    ON CONFLICT (
        bot_id, chat_id, user_id, ifnull(thread_id, ''), ifnull(business_connection_id, x''),
        destiny
    )
    DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at
"""
)

_CLOSED = "the FSM storage is closed (the bot is shutting down)"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class StorageClosedError(RuntimeError):
    """The storage has been closed and accepts no more reads or writes."""


class StorageBusyError(RuntimeError):
    """Another writer kept the database locked for longer than the storage is willing to wait."""


class _Record(NamedTuple):
    # A NamedTuple rather than a frozen dataclass: one is built on every write, at half the cost.
    state: str | None
    data: str  # the JSON text exactly as stored, so a read never depends on what the caller kept
    rowid: int | None  # None while the key has no row


_EMPTY = _Record(None, _EMPTY_DATA, None)


class SQLiteStorage(BaseStorage):
    """FSM storage in the bot's SQLite database: aiogram's MemoryStorage, but it survives restarts.

    Every write is committed before the call returns. Writes run synchronously on the event-loop
    thread through a connection of the storage's own: in WAL mode with synchronous=NORMAL a commit
    costs about 10 µs, while a round trip through aiosqlite's worker thread costs about 100 µs,
    which would make a dispatcher twice as slow as with MemoryStorage. Only writes that find the
    database locked by another connection wait, without blocking the loop, and are then committed
    together in one transaction.

    The whole table is loaded into memory when the storage starts, and the cache then mirrors it.
    Rows exist only for keys with a state or data (a cleared key's row is deleted), so this holds
    the live conversations rather than every chat that ever wrote, and no read ever touches the
    disk. It assumes this storage is the only writer of `fsm_state` (one bot process per file).

    Data goes through JSON, and every read decodes it afresh: a handler sees the same thing before
    and after a restart (tuples come back as lists, non-str keys as str, from the first read on).
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        close_connection: bool = False,
        busy_wait: float = 10.0,
    ) -> None:
        """Use the database behind `conn` (from `open_database`); close `conn` in `close()` only
        if `close_connection`. A write waits at most `busy_wait` seconds for a locked database."""
        self._conn = conn
        self._close_connection = close_connection
        self._busy_wait = busy_wait
        # None until started and again once closed, so the hot paths test a single attribute.
        self._db: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None
        self._start_lock = asyncio.Lock()
        self._cache: dict[StorageKey, _Record] = {}
        # Writes waiting for the lock: the newest record per key, not yet committed.
        # Reads see them (as with MemoryStorage); the cache gets them once they are committed.
        self._backlog: dict[StorageKey, _Record] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._commits = 0
        self._path = ""
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, busy_wait: float = 10.0) -> SQLiteStorage:
        """Open (and migrate) the database at `path` for this storage alone; `close()` closes it."""
        conn = await open_database(path)
        storage = cls(conn, close_connection=True, busy_wait=busy_wait)
        try:
            await storage.start()
        except BaseException:
            await conn.close()
            raise
        return storage

    async def start(self) -> None:
        """Load the stored conversations now instead of on the first call."""
        if self._db is None:
            await self._start()

    async def get_state(self, key: StorageKey) -> str | None:
        """Return the state stored for `key`, or None."""
        if self._db is None:
            await self._start()
        return self._current(key).state

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """Return a fresh copy of the data stored for `key` ({} when there is none)."""
        if self._db is None:
            await self._start()
        return _decode(self._current(key).data)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state for `key` (None clears it) and keep its data; returns once committed."""
        value = state.state if isinstance(state, State) else state
        if value is not None and not isinstance(value, str):
            raise TypeError(f"FSM state must be a str, a State or None, not {type(value).__name__}")
        if self._db is None:
            await self._start()
        # Nothing awaits between reading the current record and writing the new one, so a
        # concurrent write to the same key cannot be lost in between.
        record = self._current(key)
        await self._write(key, _Record(value, record.data, record.rowid))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data for `key` and keep its state; returns once committed."""
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        text = _encode(data)
        if self._db is None:
            await self._start()
        record = self._current(key)
        await self._write(key, _Record(record.state, text, record.rowid))

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `data` into the data for `key` (dict.update); return the result once committed."""
        # Overridden so that the read-modify-write has no await in the middle: two concurrent
        # updates of one key both land, as they do with MemoryStorage.
        if self._db is None:
            await self._start()
        record = self._current(key)
        merged = _decode(record.data)
        merged.update(data)
        await self._write(key, _Record(record.state, _encode(merged), record.rowid))
        return merged

    async def clear_chat(self, chat_id: int, state_prefix: str) -> int:
        """Clear state and data of every key of `chat_id` whose state starts with `state_prefix`
        (rows deleted, committed on return); return how many keys were cleared."""
        if self._db is None:
            await self._start()
        keys = [
            key
            for key in {*self._cache, *self._backlog}
            if key.chat_id == chat_id and (self._current(key).state or "").startswith(state_prefix)
        ]
        for key in keys:
            await self._write(key, _Record(None, _EMPTY_DATA, self._current(key).rowid))
        return len(keys)

    async def close(self) -> None:
        """Refuse new reads and writes, wait for the writes already accepted, then close."""
        if self._closed:
            return
        self._closed = True
        db, self._db = self._db, None
        async with self._start_lock:
            pass  # a start in progress notices the close and cleans up after itself
        if self._flusher is not None:
            # Shielded: if close() itself is cancelled, the accepted writes still get committed.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flusher)
        if self._checkpointer is not None:
            with contextlib.suppress(Exception):
                await self._checkpointer
        if db is not None:
            db.close()
        self._cursor = None
        self._cache.clear()
        if self._close_connection:
            await self._conn.close()

    def _current(self, key: StorageKey) -> _Record:
        if self._backlog:
            queued = self._backlog.get(key)
            if queued is not None:
                return queued
        return self._cache.get(key, _EMPTY)

    async def _start(self) -> None:
        if self._closed:
            raise StorageClosedError(_CLOSED)
        async with self._start_lock:
            if self._db is None and not self._closed:
                await self._attach()
        if self._db is None:
            raise StorageClosedError(_CLOSED)

    async def _attach(self) -> None:
        async with self._conn.execute("PRAGMA database_list") as cursor:
            databases = await cursor.fetchall()
        path = next((str(row[2]) for row in databases if row[1] == "main"), "")
        if not path:
            raise ValueError("SQLiteStorage needs a database file, not an in-memory database")
        # timeout=0: a locked database must never block the event loop; the backlog waits instead.
        db = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(
                    f"the FSM database must be in WAL mode (it is {mode!r}); open it with "
                    "bot.storage.db.open_database()"
                )
            # Per connection, so set here too; open_database() says why NORMAL is durable enough.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA secure_delete = ON")
            # Checkpoints belong on the worker thread (see CHECKPOINT_EVERY), not on the loop.
            db.execute("PRAGMA wal_autocheckpoint = 0")
            # Loaded through aiosqlite so that a big table does not stall the event loop.
            rows = await self._conn.execute_fetchall(_SELECT_ALL)
            if self._closed:
                raise StorageClosedError(_CLOSED)
        except BaseException:
            db.close()
            raise
        cache: dict[StorageKey, _Record] = {}
        for rowid, bot_id, chat_id, user_id, thread_id, business_id, destiny, state, data in rows:
            key = StorageKey(bot_id, chat_id, user_id, thread_id, business_id, destiny)
            cache[key] = _Record(state, data, rowid)
        self._cache = cache
        self._cursor = db.cursor()
        self._path = path
        self._db = db

    async def _write(self, key: StorageKey, record: _Record) -> None:
        cursor = self._cursor
        if self._db is None or cursor is None:
            raise StorageClosedError(_CLOSED)
        # Queued writes go first, or a key's writes could land out of order.
        if not self._backlog:
            try:
                rowid = _persist(cursor, key, record)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            else:
                self._cache_committed(key, record, rowid)
                self._committed(1)
                return
        # Another connection holds the write lock. Wait without blocking the loop; the flusher
        # commits everything queued meanwhile in one transaction (group commit).
        #
        # Only here: committing the writes of concurrent tasks together as a rule was tried and
        # measured. It made a dispatcher with 100 concurrent updates twice as slow, because every
        # handler that waits for the batch keeps its update's objects alive into older garbage
        # collector generations, which costs far more than the ~10 µs commit it saves.
        self._backlog[key] = record
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(cursor))
        await waiter

    def _cache_committed(self, key: StorageKey, record: _Record, rowid: int | None) -> None:
        if rowid is None:
            self._cache.pop(key, None)
        else:
            if rowid != record.rowid:
                record = _Record(record.state, record.data, rowid)
            self._cache[key] = record

    async def _flush(self, cursor: sqlite3.Cursor) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._busy_wait
        delay = 0.001
        failure: BaseException | None = None
        try:
            while self._backlog:
                await asyncio.sleep(delay)
                batch = list(self._backlog.items())
                try:
                    rowids = _persist_batch(cursor, batch)
                except sqlite3.OperationalError as exc:
                    if _is_busy(exc) and loop.time() < deadline:
                        delay = min(delay * 2, 0.05)
                        continue
                    failure = exc
                    if _is_busy(exc):
                        failure = StorageBusyError(
                            f"the database stayed locked for {self._busy_wait:g} s"
                        )
                        failure.__cause__ = exc
                    return
                # Nothing awaited since the batch was taken, so it is the whole backlog.
                self._backlog.clear()
                for (key, record), rowid in zip(batch, rowids, strict=True):
                    self._cache_committed(key, record, rowid)
                self._committed(len(batch))
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if not waiter.done():  # a caller cancelled meanwhile still got its write
                        waiter.set_result(None)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._flusher = None
            if failure is not None:
                # The cache never saw these writes, so it still matches the database.
                self._backlog.clear()
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(failure)

    def _committed(self, count: int) -> None:
        self._commits += count
        if self._commits >= CHECKPOINT_EVERY and self._checkpointer is None and not self._closed:
            self._commits = 0
            self._checkpointer = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(checkpoint, self._path)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._checkpointer = None


def _persist(cursor: sqlite3.Cursor, key: StorageKey, record: _Record) -> int | None:
    """Write one record in autocommit mode; return its row's rowid afterwards (None: no row)."""
    # The hot path of every FSM write. A known row is updated through its rowid, cheaper than an
    # upsert through the key's expression index; the cache mirrors the table, so the rowid is
    # right, and a row that vanished anyway just gets inserted again.
    rowid = record.rowid
    if record.state is None and record.data == _EMPTY_DATA:
        if rowid is not None:  # nothing left to remember for this key
            cursor.execute(_DELETE, (rowid,))
        return None
    if rowid is not None and cursor.execute(_UPDATE, (record.state, record.data, rowid)).rowcount:
        return rowid
    params = (*_key_params(key), record.state, record.data)
    try:
        return cursor.execute(_INSERT, params).lastrowid
    except sqlite3.IntegrityError:  # the row exists although the cache did not know it
        cursor.execute(_UPSERT, params)
        return int(cursor.execute(_SELECT_ROWID, _key_params(key)).fetchone()[0])


def _persist_batch(
    cursor: sqlite3.Cursor, batch: list[tuple[StorageKey, _Record]]
) -> list[int | None]:
    """Write `batch` in one transaction (group commit); return each record's rowid afterwards."""
    cursor.execute("BEGIN IMMEDIATE")
    try:
        rowids = [_persist(cursor, key, record) for key, record in batch]
        cursor.execute("COMMIT")
    except BaseException:
        if cursor.connection.in_transaction:
            cursor.execute("ROLLBACK")
        raise
    return rowids


def _key_params(key: StorageKey) -> tuple[int, int, int, int | None, str | None, str]:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id,
        key.business_connection_id,
        key.destiny,
    )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code: int = exc.sqlite_errorcode
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _encode(data: Mapping[str, Any]) -> str:
    try:
        return _ENCODER.encode(data)
    except (TypeError, ValueError) as exc:  # ValueError: a circular reference
        raise TypeError(f"FSM data must be JSON-serialisable: {exc}") from exc


def _decode(text: str) -> dict[str, Any]:
    if text == _EMPTY_DATA:
        return {}
    data: dict[str, Any] = json.loads(text)
    return data
