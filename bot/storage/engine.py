"""One interface to the bot's database, two engines: SQLite (the default) and PostgreSQL.

Repositories write portable SQL with ``?`` placeholders (``INSERT … ON CONFLICT``, ``RETURNING``,
conditional ``UPDATE``s) and call ``execute`` / ``fetchall`` / ``fetchone``; each engine runs it
as is (SQLite through aiosqlite) or with ``$n`` placeholders (PostgreSQL through asyncpg). Every
statement commits on its own on both. ``DATABASE_URL`` chooses: ``sqlite:///path`` (default:
``DATA_DIR/smsc-bot.sqlite3``) or ``postgresql://…``. See docs/scaling.md for adding a table.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import aiosqlite
import asyncpg

from bot.storage.db import open_database
from bot.storage.pg import migrate_postgres

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class Database(Protocol):
    """What a repository needs of the database; every statement commits on return."""

    dialect: Dialect

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None: ...

    async def close(self) -> None: ...


class SqliteDatabase:
    """The SQLite engine: the bot's one aiosqlite connection in autocommit mode."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.conn.execute_fetchall(sql, params)]

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        async with self.conn.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return None if row is None else tuple(row)

    async def close(self) -> None:
        await self.conn.close()


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


def to_postgres(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, …`` (question marks inside string literals left alone)."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


class PostgresDatabase:
    """The PostgreSQL engine: an asyncpg pool shared by the replica's tasks."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._sql: dict[str, str] = {}

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 2, max_size: int = 20) -> PostgresDatabase:
        """Connect to ``url`` and bring its schema up to date."""
        # reset: the default sends "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
        # RESET ALL" at every release, a second round trip for each statement; the bot leaves
        # no session state behind (no SET, LISTEN or session locks on pooled connections).
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, reset=_keep_session
        )
        try:
            async with pool.acquire() as conn:
                await migrate_postgres(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    def _translate(self, sql: str) -> str:
        translated = self._sql.get(sql)
        if translated is None:
            translated = self._sql[sql] = to_postgres(sql)
        return translated

    async def execute(self, sql: str, params: Params = ()) -> int:
        status: str = await self.pool.execute(self._translate(sql), *params)
        return _count(status)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """One statement for each row, in one transaction."""
        await self.pool.executemany(self._translate(sql), rows)

    async def cursor(self, sql: str, params: Params = ()) -> PgCursor:
        """Rows (if any) and the rows changed, in one round trip (for ``PgConnection``)."""
        async with self.pool.acquire() as conn:
            # What fetch() and execute() run underneath, asking for rows and status at once:
            # one round trip with the connection's statement cache, where an explicit
            # prepare() is one more on every call (bench/round_trips.py).
            rows, status, _ = await cast(Any, conn)._execute(
                self._translate(sql), params, 0, None, return_status=True
            )
        return PgCursor([tuple(row) for row in rows], _count(status.decode()))

    @property
    def compat(self) -> PgConnection:
        """This database with aiosqlite's connection surface."""
        return PgConnection(self)

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.pool.fetch(self._translate(sql), *params)]

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        row = await self.pool.fetchrow(self._translate(sql), *params)
        return None if row is None else tuple(row)

    async def close(self) -> None:
        await self.pool.close()


class PgCursor:
    """What a repository written for aiosqlite reads off a cursor: rows and ``rowcount``."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        # PostgreSQL has no rowid: write ``INSERT … RETURNING id`` and read it with fetchone().
        self.lastrowid: int | None = None

    async def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        """Nothing to release: the rows were read already."""

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _PgStatement:
    """``conn.execute(...)``: awaited, or used as ``async with``, like aiosqlite's."""

    def __init__(self, database: PostgresDatabase, sql: str, params: Params) -> None:
        self._database = database
        self._sql = sql
        self._params = params
        self._cursor: PgCursor | None = None

    async def _run(self) -> PgCursor:
        self._cursor = await self._database.cursor(self._sql, self._params)
        return self._cursor

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._run().__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """aiosqlite's connection surface on the PostgreSQL engine, for repositories written
    against it (``execute`` as a cursor, ``execute_fetchall``, ``commit``): with portable SQL
    they run on both engines unchanged (docs/scaling.md)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def execute(self, sql: str, params: Params = ()) -> _PgStatement:
        return _PgStatement(self.database, sql, params)

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self.database.fetchall(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        await self.database.executemany(sql, rows)

    async def commit(self) -> None:
        """Every statement commits on its own, as on the bot's SQLite connection."""


def connection_of(database: Database) -> aiosqlite.Connection | PgConnection:
    """The database with aiosqlite's connection surface, for repositories written against it."""
    if isinstance(database, SqliteDatabase):
        return database.conn
    if isinstance(database, PostgresDatabase):
        return database.compat
    raise TypeError(f"no connection surface for {type(database).__name__}")


def as_database(conn: aiosqlite.Connection | PgConnection | Database) -> Database:
    """A repository's argument as a ``Database`` (an aiosqlite connection is wrapped)."""
    if isinstance(conn, aiosqlite.Connection):
        return SqliteDatabase(conn)
    if isinstance(conn, PgConnection):
        return conn.database
    return conn


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset (see ``PostgresDatabase.connect``)."""


def _count(status: str) -> int:
    # "UPDATE 1", "INSERT 0 1", "DELETE 3", "SELECT 2"; statements without a count say none.
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def sqlite_path(url: str | None, data_dir: Path, default_name: str) -> Path | None:
    """The SQLite file ``url`` names (None when it names PostgreSQL)."""
    if not url:
        return data_dir / default_name
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return None
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


async def open_engine(url: str | None, data_dir: Path, default_name: str) -> Database:
    """The database ``DATABASE_URL`` names, opened and migrated."""
    path = sqlite_path(url, data_dir, default_name)
    if path is None:
        assert url is not None
        return await PostgresDatabase.connect(url)
    return SqliteDatabase(await open_database(path))
