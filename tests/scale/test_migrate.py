"""``python -m bot.migrate``: a SQLite database copied into PostgreSQL reads back the same."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.crypto import SecretBox
from bot.migrate import MigrationError, copy_database
from bot.storage.accounts import Account, AccountRepo
from bot.storage.audit import AuditLog
from bot.storage.budget import SqlBudgetStore
from bot.storage.confirmations import Confirmation, ConfirmationRepo
from bot.storage.db import open_database, split_statements
from bot.storage.engine import PostgresDatabase, connection_of
from bot.storage.fsm import SQLiteStorage
from bot.storage.fsm_pg import PostgresStorage, from_jsonb
from bot.storage.notify import NotifyRepo, Sub
from bot.storage.pg import postgres_ddl
from bot.storage.stats import Figures, StatFigures
from bot.storage.teams import TeamRepo
from bot.storage.updates import UpdateJournal

pytestmark = pytest.mark.postgres

SECRET = "Migrated-Secret-Pw-5521"
KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)
# A forum topic's conversation in a group: thread and business connection are part of the key.
TOPIC = StorageKey(bot_id=1, chat_id=-100200, user_id=44, thread_id=7, business_connection_id="b1")
ROOT = Path(__file__).resolve().parents[2]


async def fill(path: Path, box: SecretBox) -> None:
    conn = await open_database(path)
    try:
        repo = AccountRepo(conn, box)
        verified = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        await repo.save(Account(42, "smsc.ru", "alice", "password", SECRET, verified_at=verified))
        await repo.save(Account(43, "smsc.kz", None, "apikey", "key-" + SECRET))
        await repo.set_language(42, "ru")
        await repo.add_subclient(42, "shop")
        audit = AuditLog(conn)
        for n in range(3):
            await audit.record(42, 42, "topup", "shop", "ok", f"{n}.00")
        await UpdateJournal(conn).claim(1, 900)
        await ConfirmationRepo(conn).add(
            Confirmation("q" * 16, 42, "acct", "topup", {"amount": "5"}, 42, 1.0, 9e9, "open")
        )
        store = SqlBudgetStore(conn)
        await store.add_failure(("https://smsc.ru", 9e9, 42, "login", False))
        await store.reject(b"\x00\xffkey", 9e9)
        await fill_teams(TeamRepo(conn), await repo.get(42))
        await fill_notify(NotifyRepo(conn))
        await StatFigures(conn).put(
            "smsc.ru|alice",
            "day",
            [Figures(date(2026, 11, 29), 12, Decimal("3.40"), Decimal(0), "RUB")],
        )
    finally:
        await conn.close()
    storage = await SQLiteStorage.open(path)
    await storage.set_state(KEY, "TopUp:amount")
    await storage.set_data(KEY, {"sub": "shop", "n": [1, 2], "ok": True})
    await storage.set_state(TOPIC, "BlackAdd:numbers")
    # A user can type U+0000, which PostgreSQL's jsonb holds only escaped.
    await storage.set_data(TOPIC, {"typed": "line\x00end"})
    await storage.close()


async def fill_teams(teams: TeamRepo, alice: Account | None) -> None:
    """A member beside the owner, a linked group, an invitation used and one open."""
    assert alice is not None
    await teams.add_member(alice.id, 44, "operator", "Bob", 1_700_000_000.5)
    await teams.link(-100200, alice.id, "viewer", 42)
    await teams.add_invitation("h" * 64, alice.id, "admin", 42, 1.0, 9e9)
    await teams.use_invitation("h" * 64, 44, 2.0)
    await teams.add_invitation("i" * 64, alice.id, "viewer", 42, 3.0, 9e9)


async def fill_notify(notify: NotifyRepo) -> None:
    account = "smsc.ru|alice"
    await notify.set_watch(account, "balance", True)
    await notify.set_sub(Sub(42, account, "balance", True, "150.5", None, 1_700_000_000.25))
    await notify.set_sub(Sub(42, account, "digest", True, "daily", 9 * 60, 1_700_000_001.0))
    await notify.set_language(42, "ru", "Europe/Moscow")
    await notify.follow(account, 1_700_000_060.0, 1_700_003_600.0)
    await notify.set_balance_armed(account, "150.5", False)
    await notify.add_sender_statuses(account, [("SHOP", "mts", 1), ("SHOP", "beeline", 0)])
    await notify.claim_digest(42, account, "2026-11-29", 1_700_000_002.0)
    await notify.save_figures(account, "2026-11-29", json.dumps({"sms": 12, "spent": "3.40"}))
    await notify.enqueue(42, json.dumps({"kind": "balance", "left": "99.00"}), 1_700_000_003.0)
    await notify.drop_chat(45, 1_700_000_004.0)  # a chat that blocked the bot


async def tables_of(conn: Any) -> dict[str, list[str]]:
    """Every table of the bot's SQLite schema with its columns (from the schema, so a table a
    new migration adds is checked without changing this test)."""
    names = await conn.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {
        str(name): [str(c[1]) for c in await conn.execute_fetchall(f'PRAGMA table_info("{name}")')]
        for (name,) in names
    }


def comparable(value: Any) -> Any:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, str) and value.startswith("{"):
        # JSON kept as jsonb on PostgreSQL: the same object, maybe not the same spelling.
        try:
            return from_jsonb(value)
        except ValueError:
            return value
    return value


async def test_every_table_is_filled_and_copied_value_for_value(
    tmp_path: Path, pg_url: str
) -> None:
    """Each table of the schema has rows in the source, and PostgreSQL holds the same rows after
    the copy. A table no test fills fails here: fill it in ``fill`` and check the copy."""
    box = SecretBox([SecretBox.generate_key()])
    path = tmp_path / "smsc-bot.sqlite3"
    await fill(path, box)
    sqlite = await open_database(path)
    try:
        tables = await tables_of(sqlite)
        source: dict[str, list[list[Any]]] = {}
        for table, columns in tables.items():
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = await sqlite.execute_fetchall(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
            source[table] = sorted(([comparable(v) for v in row] for row in rows), key=repr)
    finally:
        await sqlite.close()
    assert [t for t, rows in source.items() if not rows] == []

    copied = await copy_database(path, pg_url)
    assert copied == {table: len(rows) for table, rows in source.items()}

    db = await PostgresDatabase.connect(pg_url)
    try:
        for table, columns in tables.items():
            quoted = ", ".join(f'"{c}"' for c in columns)
            found = await db.fetchall(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
            target = sorted(([comparable(v) for v in row] for row in found), key=repr)
            assert target == source[table], table
        # Read back through the repositories, as the bot reads them.
        teams = TeamRepo(connection_of(db))
        alice = await AccountRepo(connection_of(db), box).get(42)
        assert alice is not None
        assert [(m.user_id, m.role) for m in await teams.members(alice.id)] == [
            (42, "owner"),
            (44, "operator"),
        ]
        assert (await teams.link_of(-100200)).role == "viewer"  # type: ignore[union-attr]
        assert [i.role for i in await teams.open_invitations(alice.id, 10.0)] == ["viewer"]
        assert await teams.add_invitation("j" * 64, alice.id, "viewer", 42, 4.0, 9e9) > 0
        notify = NotifyRepo(connection_of(db))
        assert [f.account for f in await notify.followed()] == ["smsc.ru|alice"]
        assert await notify.blocked_chats() == {45}
        queued = await notify.outbox()
        assert queued and await notify.enqueue(42, "{}", 1.0) > max(i for i, _, _ in queued)
        figures = await StatFigures(connection_of(db)).get(
            "smsc.ru|alice", "day", [date(2026, 11, 29)]
        )
        assert figures[date(2026, 11, 29)].spent == Decimal("3.40")
        assert await PostgresStorage(db).get_state(TOPIC) == "BlackAdd:numbers"
        assert await PostgresStorage(db).get_data(TOPIC) == {"typed": "line\x00end"}
    finally:
        await db.close()


async def test_a_database_round_trips_into_postgres(tmp_path: Path, pg_url: str) -> None:
    box = SecretBox([SecretBox.generate_key()])
    path = tmp_path / "smsc-bot.sqlite3"
    await fill(path, box)

    copied = await copy_database(path, pg_url)
    assert copied["accounts"] == 2 and copied["audit_log"] == 3 and copied["fsm_state"] == 2

    db = await PostgresDatabase.connect(pg_url)
    try:
        repo = AccountRepo(connection_of(db), box)
        alice = await repo.get(42)
        assert alice is not None and alice.secret == SECRET and alice.login == "alice"
        assert alice.verified_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        assert (await repo.get(43)).secret == "key-" + SECRET  # type: ignore[union-attr]
        assert await repo.get_language(42) == "ru"
        assert await repo.list_subclients(42) == ["shop"]
        # The same ciphertext as in SQLite, nothing in clear.
        sqlite = await open_database(path)
        try:
            before = await sqlite.execute_fetchall("SELECT secret FROM accounts")
        finally:
            await sqlite.close()
        after = await db.fetchall("SELECT secret FROM accounts")
        assert sorted(bytes(r[0]) for r in after) == sorted(bytes(r[0]) for r in before)
        assert all(SECRET.encode() not in bytes(r[0]) for r in after)
        entries = await AuditLog(connection_of(db)).recent(42)
        assert [e.detail for e in entries] == ["2.00", "1.00", "0.00"]
        # New rows get ids after the copied ones.
        await AuditLog(connection_of(db)).record(42, 42, "login", None, "ok")
        assert (await AuditLog(connection_of(db)).recent(42, 1))[0].id == entries[0].id + 1
        assert not await UpdateJournal(db).claim(1, 900)
        assert await ConfirmationRepo(db).claim("q" * 16, 42, "acct", 42, 2.0)
        store = SqlBudgetStore(db)
        assert await store.load_failures(0.0) == [("https://smsc.ru", 9e9, 42, "login", False)]
        assert await store.load_rejections() == {b"\x00\xffkey": 9e9}
        storage = PostgresStorage(db)
        assert await storage.get_state(KEY) == "TopUp:amount"
        assert await storage.get_data(KEY) == {"sub": "shop", "n": [1, 2], "ok": True}
    finally:
        await db.close()

    with pytest.raises(MigrationError, match="not empty"):
        await copy_database(path, pg_url)


def test_the_command_says_what_it_copied_and_never_echoes_the_url(
    tmp_path: Path, pg_url: str
) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "bot.migrate", str(tmp_path / "none.sqlite3"), pg_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("nothing was copied:") and pg_url not in missing.stderr


async def test_a_table_is_copied_after_the_tables_its_foreign_keys_name(
    tmp_path: Path, pg_url: str
) -> None:
    """A feature's table may point at one whose name sorts after its own."""
    later = """
        CREATE TABLE z_parent (id INTEGER PRIMARY KEY);
        CREATE TABLE a_child (parent INTEGER NOT NULL REFERENCES z_parent (id));
    """
    path = tmp_path / "smsc-bot.sqlite3"
    sqlite = await open_database(path)
    try:
        for statement in split_statements(later):
            await sqlite.execute(statement)
        await sqlite.execute("INSERT INTO z_parent (id) VALUES (7)")
        await sqlite.execute("INSERT INTO a_child (parent) VALUES (7)")
    finally:
        await sqlite.close()
    db = await PostgresDatabase.connect(pg_url)
    try:
        await db.execute(postgres_ddl(0, later))
    finally:
        await db.close()

    copied = await copy_database(path, pg_url)
    assert copied["z_parent"] == copied["a_child"] == 1
