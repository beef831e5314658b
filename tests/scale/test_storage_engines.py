"""One contract for the storage on both engines: SQLite (a file) and PostgreSQL (a real server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.crypto import SecretBox
from bot.storage.accounts import Account, AccountRepo
from bot.storage.audit import AuditLog
from bot.storage.budget import SqlBudgetStore
from bot.storage.confirmations import Confirmation, ConfirmationRepo
from bot.storage.db import SCHEMA_VERSION, open_database
from bot.storage.engine import (
    Database,
    PostgresDatabase,
    SqliteDatabase,
    connection_of,
    open_engine,
    to_postgres,
)
from bot.storage.fsm_pg import PostgresStorage
from bot.storage.pg import PG_SCHEMA_VERSION, postgres_ddl
from bot.storage.stats import Figures, StatFigures
from bot.storage.teams import TeamRepo
from bot.storage.updates import UpdateJournal
from tests.support.servers import Postgres, fresh_database

SECRET = "Very-Secret-Pw-9182"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL of either engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    async with fresh_database(request.getfixturevalue("postgres")) as url:
        yield url


@pytest.fixture
async def db(engine: str, tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_engine(engine, tmp_path, "unused")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.generate_key()])


async def raw_secrets(db: Database) -> list[bytes]:
    return [bytes(row[0]) for row in await db.fetchall("SELECT secret FROM accounts")]


def test_placeholders_become_numbered_outside_literals() -> None:
    sql = "SELECT '?', x FROM t WHERE a = ? AND b = 'it''s ?' AND c = ?"
    assert to_postgres(sql) == "SELECT '?', x FROM t WHERE a = $1 AND b = 'it''s ?' AND c = $2"


async def test_schema_versions_agree(db: Database) -> None:
    assert SCHEMA_VERSION == PG_SCHEMA_VERSION


@pytest.mark.postgres
async def test_both_schemas_have_the_same_tables_and_columns(
    tmp_path: Path, postgres: Postgres
) -> None:
    conn = await open_database(tmp_path / "bot.sqlite3")
    try:
        tables = [
            str(row[0])
            for row in await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        ]
        sqlite_columns = {
            table: {
                str(row[1]) for row in await conn.execute_fetchall(f"PRAGMA table_info({table})")
            }
            for table in tables
        }
    finally:
        await conn.close()
    async with fresh_database(postgres) as url:
        pg = await PostgresDatabase.connect(url)
        try:
            rows = await pg.fetchall(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
            )
        finally:
            await pg.close()
    pg_columns: dict[str, set[str]] = {}
    for table, column in rows:
        pg_columns.setdefault(table, set()).add(column)
    assert pg_columns == sqlite_columns


async def test_accounts_round_trip_with_the_secret_encrypted(db: Database, box: SecretBox) -> None:
    repo = AccountRepo(connection_of(db), box)
    verified = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    account = Account(3, "smsc.ru", "alice", "password", SECRET, verified_at=verified)
    await repo.save(account)
    assert await repo.get(3) == account
    (stored,) = await raw_secrets(db)
    assert SECRET.encode() not in stored
    await repo.mark_needs_relogin(3)
    assert (await repo.get(3)).needs_relogin  # type: ignore[union-attr]
    await repo.save(account)
    assert await repo.count() == 1
    await repo.set_language(3, "ru")
    await repo.set_language(3, "en")
    assert await repo.get_language(3) == "en"
    await repo.add_subclient(3, "sub1")
    await repo.add_subclient(3, "sub1")
    await repo.add_subclient(3, "sub2")
    await repo.rename_subclient(3, "sub1", "sub2")
    assert await repo.list_subclients(3) == ["sub2"]
    await repo.rename_subclient(3, "sub2", "sub3")
    assert await repo.list_subclients(3) == ["sub3"]
    assert await repo.delete(3)
    assert not await repo.delete(3)
    assert await repo.get(3) is None
    assert await repo.list_subclients(3) == []
    assert await repo.get_language(3) == "en"
    assert await repo.purge_wal()


async def test_access_reads_link_member_and_account_in_one_go(db: Database, box: SecretBox) -> None:
    repo = AccountRepo(connection_of(db), box)
    teams = TeamRepo(connection_of(db))
    saved = await repo.save(Account(3, "smsc.ru", "alice", "password", SECRET), owner_id=3)
    assert await repo.access(99, 3) is None
    link, member, account = await repo.access(3, 3)  # type: ignore[misc]
    assert (link.account_id, member and member.role, account) == (saved.id, "owner", saved)
    # A group acting on the account, asked by someone outside the team: the group's role only.
    await teams.link(-100, saved.id, "viewer", 3)
    link, member, account = await repo.access(-100, 42)  # type: ignore[misc]
    assert (link.role, member, account and account.login) == ("viewer", None, "alice")
    assert account is not None and account.secret == SECRET


async def test_audit_log_newest_first(db: Database) -> None:
    audit = AuditLog(connection_of(db))
    for index in range(5):
        await audit.record(7, 70, "topup", f"sub{index}", "ok", None)
    await audit.record(8, 80, "login", None, "smsc error 2")
    entries = await audit.recent(7, limit=3)
    assert [e.target for e in entries] == ["sub4", "sub3", "sub2"]
    assert entries[0].at.year >= 2026 and entries[0].user_id == 70


async def test_an_update_is_claimed_once_even_by_two_journals_at_once(
    engine: str, db: Database, tmp_path: Path
) -> None:
    other = await open_engine(engine, tmp_path, "unused")
    try:
        journals = [UpdateJournal(db), UpdateJournal(other)]
        claims = await asyncio.gather(*(j.claim(1, 500) for j in journals for _ in range(5)))
        assert sum(claims) == 1
        assert await journals[1].claim(1, 501)
        assert await journals[0].claim(2, 500)
    finally:
        await other.close()


@pytest.mark.postgres
async def test_a_claim_reads_the_chats_language_in_the_same_statement(
    pg_url: str, tmp_path: Path, box: SecretBox
) -> None:
    one = await open_engine(pg_url, tmp_path, "unused")
    two = await open_engine(pg_url, tmp_path, "unused")
    try:
        await AccountRepo(connection_of(one), box).set_language(7, "ru")
        journals = [UpdateJournal(one), UpdateJournal(two)]
        claims = await asyncio.gather(
            *(j.claim_reading_language(1, 900, 7) for j in journals for _ in range(5))
        )
        assert sum(claimed for claimed, _ in claims) == 1
        assert {language for _, language in claims} == {"ru"}
        assert await journals[1].claim_reading_language(1, 901, 8) == (True, None)
        # The same journal as claim(): an update claimed either way is not claimed again.
        assert not await journals[0].claim(1, 901)
    finally:
        await one.close()
        await two.close()


def record(record_id: str, *, expires_at: float = 2_000.0) -> Confirmation:
    return Confirmation(
        id=record_id,
        chat_id=5,
        account="smsc.ru|alice|1",
        action="topup",
        payload={"sub": "bob", "amount": "100"},
        asked_by=50,
        created_at=1_000.0,
        expires_at=expires_at,
        state="open",
    )


async def test_a_confirmation_is_claimed_once_across_connections(
    engine: str, db: Database, tmp_path: Path
) -> None:
    other = await open_engine(engine, tmp_path, "unused")
    try:
        repos = [ConfirmationRepo(db), ConfirmationRepo(other)]
        await repos[0].add(record("a" * 16))
        taps = [
            repo.claim("a" * 16, 5, "smsc.ru|alice|1", user, 1_500.0)
            for repo in repos
            for user in range(10)
        ]
        assert sum(await asyncio.gather(*taps)) == 1
        stored = await repos[1].get("a" * 16)
        assert stored is not None and stored.state == "claimed"
        assert stored.payload == {"sub": "bob", "amount": "100"}
        assert await repos[1].finish("a" * 16, "done")
        assert not await repos[0].release("a" * 16)
    finally:
        await other.close()


async def test_confirmation_expiry_chat_account_and_cancel(db: Database) -> None:
    repo = ConfirmationRepo(db)
    await repo.add(record("b" * 16, expires_at=1_200.0))
    assert not await repo.claim("b" * 16, 5, "smsc.ru|alice|1", 1, 1_200.0)
    await repo.add(record("c" * 16))
    assert not await repo.claim("c" * 16, 6, "smsc.ru|alice|1", 1, 1_100.0)
    assert not await repo.claim("c" * 16, 5, "smsc.ru|alice|2", 1, 1_100.0)
    assert await repo.cancel("c" * 16, 5, 1, 1_100.0)
    assert not await repo.claim("c" * 16, 5, "smsc.ru|alice|1", 1, 1_100.0)
    await repo.add(record("d" * 16))
    assert await repo.claim("d" * 16, 5, "smsc.ru|alice|1", 1, 1_100.0)
    assert await repo.release("d" * 16)
    assert await repo.claim("d" * 16, 5, "smsc.ru|alice|1", 2, 1_100.0)


async def test_budget_store_keeps_failures_pending_rows_and_rejections(db: Database) -> None:
    store = SqlBudgetStore(db)
    pending = await store.begin(("h", 1_000.0, 9, "login", True))
    done = await store.begin(("h", 1_000.0, 9, "saved", False))
    await store.settle(done, None)
    await store.add_failure(("h", 1_010.0, None, "saved", False))
    assert await store.load_failures(900.0) == [
        ("h", 1_000.0, 9, "login", True),
        ("h", 1_010.0, None, "saved", False),
    ]
    await store.settle(pending, 1_005.0)
    assert [row[1] for row in await store.load_failures(900.0)] == [1_005.0, 1_010.0]
    assert await store.load_failures(1_006.0) == [("h", 1_010.0, None, "saved", False)]
    await store.reject(b"\x01key", 1_000.0)
    await store.reject(b"\x01key", 1_001.0)
    assert await store.load_rejections() == {b"\x01key": 1_001.0}
    await store.unreject(b"\x01key")
    assert await store.load_rejections() == {}


@pytest.mark.postgres
async def test_a_conversation_moves_between_replicas_on_postgres(pg_url: str) -> None:
    one, two = await PostgresDatabase.connect(pg_url), await PostgresDatabase.connect(pg_url)
    try:
        first, second = PostgresStorage(one), PostgresStorage(two)
        key = StorageKey(bot_id=1, chat_id=5, user_id=5)
        await first.set_state(key, "TopUp:amount")
        await first.update_data(key, {"sub": "bob"})
        assert await second.get_state(key) == "TopUp:amount"
        await asyncio.gather(
            *(
                storage.update_data(key, {f"k{i}": i})
                for i in range(10)
                for storage in (first, second)
            )
        )
        assert await first.get_data(key) == {"sub": "bob", **{f"k{i}": i for i in range(10)}}
        assert await second.clear_chat(5, "TopUp:") == 1
        assert await first.get_state(key) is None
    finally:
        await one.close()
        await two.close()


async def test_the_sqlite_engine_is_the_connection_of_open_database(tmp_path: Path) -> None:
    database = await open_engine(None, tmp_path, "bot.sqlite3")
    try:
        assert isinstance(database, SqliteDatabase)
        assert isinstance(database.conn, aiosqlite.Connection)
        assert (tmp_path / "bot.sqlite3").exists()
    finally:
        await database.close()


@pytest.mark.postgres
async def test_postgres_refuses_a_newer_schema(pg_url: str) -> None:
    database = await PostgresDatabase.connect(pg_url)
    await database.execute("UPDATE schema_version SET version = version + 1")
    await database.close()
    with pytest.raises(RuntimeError, match="newer than this bot knows"):
        await PostgresDatabase.connect(pg_url)


class AiosqliteStyleRepo:
    """A repository as the features write them against aiosqlite's connection."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def claim(self, update_id: int) -> bool:
        async with self._conn.execute(
            "INSERT INTO handled_updates (bot_id, update_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (1, update_id),
        ) as cursor:
            return bool(cursor.rowcount == 1)

    async def note(self, chat_id: int, action: str) -> int:
        cursor = await self._conn.execute(
            "INSERT INTO audit_log (chat_id, action, result) VALUES (?, ?, 'ok') RETURNING id",
            (chat_id, action),
        )
        row = await cursor.fetchone()
        await cursor.close()
        return int(row[0])

    async def actions(self, chat_id: int) -> list[str]:
        rows = await self._conn.execute_fetchall(
            "SELECT action FROM audit_log WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [str(row[0]) for row in rows]


async def test_an_aiosqlite_style_repository_runs_on_both_engines(db: Database) -> None:
    conn = db.conn if isinstance(db, SqliteDatabase) else db.compat  # type: ignore[attr-defined]
    repo = AiosqliteStyleRepo(conn)
    assert await repo.claim(7)
    assert not await repo.claim(7)
    first = await repo.note(3, "a")
    assert await repo.note(3, "b") == first + 1
    assert await repo.actions(3) == ["a", "b"]
    # Statements of every shape give their rows and what they changed.
    async with conn.execute(
        "WITH mine AS (SELECT action FROM audit_log WHERE chat_id = ?) SELECT count(*) FROM mine",
        (3,),
    ) as cursor:
        assert await cursor.fetchone() == (2,)
    async with conn.execute(
        "UPDATE audit_log SET result = 'ok' WHERE chat_id = ? RETURNING action", (3,)
    ) as cursor:
        assert sorted(await cursor.fetchall()) == [("a",), ("b",)]
    async with conn.execute("DELETE FROM audit_log WHERE chat_id = ?", (3,)) as cursor:
        assert cursor.rowcount == 2
    await conn.commit()


# A later SQLite migration as features write them: new tables, a rebuilt one, a data move.
LATER = """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        body BLOB,
        score REAL NOT NULL DEFAULT 0,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    ALTER TABLE chat_settings RENAME TO chat_settings_old;
    CREATE TABLE chat_settings (
        chat_id INTEGER PRIMARY KEY,
        language TEXT,
        tz TEXT NOT NULL DEFAULT 'UTC'
    ) WITHOUT ROWID;
    INSERT INTO chat_settings (chat_id, language) SELECT chat_id, language FROM chat_settings_old;
    DROP TABLE chat_settings_old;
    INSERT INTO notes (chat_id, score) SELECT chat_id, 1.5 FROM chat_settings;
"""


@pytest.mark.postgres
async def test_a_later_sqlite_migration_runs_converted_on_postgres(pg_url: str) -> None:
    database = await PostgresDatabase.connect(pg_url)
    try:
        await database.execute("INSERT INTO chat_settings (chat_id, language) VALUES (5, 'ru')")
        async with database.pool.acquire() as conn:
            await conn.execute(postgres_ddl(6, LATER))
        assert await database.fetchall("SELECT chat_id, language, tz FROM chat_settings") == [
            (5, "ru", "UTC")
        ]
        await database.execute("INSERT INTO notes (chat_id, body) VALUES (?, ?)", (9, b"\x00"))
        rows = await database.fetchall("SELECT id, chat_id, body, score FROM notes ORDER BY id")
        assert rows == [(1, 5, None, 1.5), (2, 9, b"\x00", 0.0)]
        (at,) = await database.fetchone("SELECT at FROM notes WHERE id = 2") or ("",)
        assert at.endswith("Z") and at.startswith("20")
    finally:
        await database.close()


def test_sqlite_only_sql_in_a_migration_asks_for_a_postgres_twin() -> None:
    with pytest.raises(ValueError, match="add its PostgreSQL twin"):
        postgres_ddl(7, "INSERT OR IGNORE INTO t VALUES (1);")


async def test_statistics_figures_on_both_engines(db: Database) -> None:
    figures = StatFigures(connection_of(db))
    days = [date(2026, 11, d) for d in (1, 2, 3)]
    await figures.put(
        "acct",
        "day",
        [Figures(d, n, Decimal("1.50"), Decimal(0), "RUB") for n, d in enumerate(days)],
    )
    await figures.put("acct", "day", [Figures(days[0], 9, Decimal("2"), Decimal(0), "RUB")])
    got = await figures.get("acct", "day", days)
    assert {d: f.sms for d, f in got.items()} == {days[0]: 9, days[1]: 1, days[2]: 2}
    assert got[days[1]].spent == Decimal("1.50")
    await figures.forget("acct")
    assert await figures.get("acct", "day", days) == {}


async def test_members_from_before_teams_are_listed_as_the_first_to_join(
    db: Database, box: SecretBox
) -> None:
    """Members that migration 7 made (no time of joining: they were there before teams) come
    right after the owner on both engines; PostgreSQL sorts NULL last unless told."""
    conn = connection_of(db)
    account = await AccountRepo(conn, box).save(Account(50, "smsc.ru", "alice", "password", "s"))
    teams = TeamRepo(conn)
    await teams.add_member(account.id, 52, "viewer", "Newcomer", 1_700_000_000.0)
    await db.execute(
        "INSERT INTO members (account_id, user_id, role, name) VALUES (?, 51, 'admin', 'Old')",
        (account.id,),
    )
    assert [m.user_id for m in await teams.members(account.id)] == [50, 51, 52]
