"""Opening the database: pragmas, file permissions and versioned migrations."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from bot.storage import db
from bot.storage.db import (
    SCHEMA_VERSION,
    SchemaTooNewError,
    migrate,
    open_database,
    schema_version,
    split_statements,
)

TABLES = {"fsm_state", "accounts", "chat_settings", "audit_log", "subclients"}


async def pragma(conn: aiosqlite.Connection, name: str) -> object:
    async with conn.execute(f"PRAGMA {name}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def tables(conn: aiosqlite.Connection) -> set[str]:
    rows = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(row[0]) for row in rows}


async def test_open_creates_a_private_database(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "bot.db"
    conn = await open_database(path)
    try:
        assert await pragma(conn, "journal_mode") == "wal"
        assert await pragma(conn, "synchronous") == 1  # NORMAL
        assert await pragma(conn, "foreign_keys") == 1
        assert await pragma(conn, "busy_timeout") == db.BUSY_TIMEOUT_MS
        assert await schema_version(conn) == SCHEMA_VERSION
        assert await tables(conn) >= TABLES
    finally:
        await conn.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_migrations_are_idempotent(db_path: Path) -> None:
    conn = await open_database(db_path)
    try:
        await conn.execute("INSERT INTO chat_settings (chat_id, language) VALUES (1, 'ru')")
        assert await migrate(conn) == SCHEMA_VERSION
        assert await migrate(conn) == SCHEMA_VERSION
    finally:
        await conn.close()
    conn = await open_database(db_path)  # opening again migrates nothing and loses nothing
    try:
        assert await schema_version(conn) == SCHEMA_VERSION
        assert await tables(conn) >= TABLES
        assert list(await conn.execute_fetchall("SELECT * FROM chat_settings")) == [(1, "ru")]
    finally:
        await conn.close()


async def test_a_failing_migration_changes_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await open_database(db_path)
    await conn.close()
    broken = "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(db, "MIGRATIONS", (*db.MIGRATIONS, broken))
    monkeypatch.setattr(db, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await open_database(db_path)
    with closing(sqlite3.connect(db_path)) as plain:
        assert plain.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        names = {row[0] for row in plain.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in names


async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    conn = await open_database(db_path)
    await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    await conn.close()
    with pytest.raises(SchemaTooNewError):
        await open_database(db_path)


def test_split_statements_keeps_semicolons_inside_strings() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE t (x TEXT DEFAULT 'a;b');
        INSERT INTO t VALUES ('c;d');
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM t WHERE x = ';'; END;
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'a;b');")
    assert statements[2].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("INSERT INTO t VALUES ('unterminated);")


async def test_migration_3_drops_log_in_conversations_kept_in_clear(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database as version 2 left it, then brought up to date.
    monkeypatch.setattr(db, "SCHEMA_VERSION", 2)
    conn = await open_database(db_path)
    monkeypatch.setattr(db, "SCHEMA_VERSION", SCHEMA_VERSION)
    try:
        for chat_id, state in ((1, "LoginForm:secret"), (2, "AddContact:name")):
            await conn.execute(
                "INSERT INTO fsm_state (bot_id, chat_id, user_id, destiny, state, data)"
                " VALUES (42, ?, ?, 'default', ?, '{\"login\":\"alice\"}')",
                (chat_id, chat_id, state),
            )
        assert await migrate(conn) == SCHEMA_VERSION
        rows = await conn.execute_fetchall("SELECT chat_id FROM fsm_state")
        assert [row[0] for row in rows] == [2]
    finally:
        await conn.close()


async def test_checkpoint_truncate_empties_the_wal(
    conn: aiosqlite.Connection, db_path: Path
) -> None:
    await conn.execute("INSERT INTO chat_settings (chat_id, language) VALUES (1, 'ru')")
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.stat().st_size > 0
    assert db.checkpoint(db_path, "TRUNCATE")
    assert wal.stat().st_size == 0
