"""``python -m bot.migrate``: a SQLite database copied into PostgreSQL reads back the same."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.crypto import SecretBox
from bot.migrate import MigrationError, copy_database
from bot.storage.accounts import Account, AccountRepo
from bot.storage.audit import AuditLog
from bot.storage.budget import SqlBudgetStore
from bot.storage.confirmations import Confirmation, ConfirmationRepo
from bot.storage.db import open_database
from bot.storage.engine import PostgresDatabase, connection_of
from bot.storage.fsm import SQLiteStorage
from bot.storage.fsm_pg import PostgresStorage
from bot.storage.updates import UpdateJournal

pytestmark = pytest.mark.postgres

SECRET = "Migrated-Secret-Pw-5521"
KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)
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
    finally:
        await conn.close()
    storage = await SQLiteStorage.open(path)
    await storage.set_state(KEY, "TopUp:amount")
    await storage.set_data(KEY, {"sub": "shop", "n": [1, 2], "ok": True})
    await storage.close()


async def test_a_database_round_trips_into_postgres(tmp_path: Path, pg_url: str) -> None:
    box = SecretBox([SecretBox.generate_key()])
    path = tmp_path / "smsc-bot.sqlite3"
    await fill(path, box)

    copied = await copy_database(path, pg_url)
    assert copied["accounts"] == 2 and copied["audit_log"] == 3 and copied["fsm_state"] == 1

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
