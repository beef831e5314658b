"""AccountRepo and AuditLog on a real database file; secrets never reach the disk in clear."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aiosqlite
import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.crypto import SecretBox
from bot.storage.accounts import Account, AccountRepo
from bot.storage.audit import AuditLog
from bot.storage.db import open_database
from bot.storage.fsm import SQLiteStorage

PASSWORD = "Zx9-unique-password-7f3a1c"
APIKEY = "apikey-unique-0c9e8d7b6a5f4e3d"
VERIFIED = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)


def password_account(chat_id: int = 1001, secret: str = PASSWORD) -> Account:
    return Account(
        chat_id=chat_id,
        site="smsc.ru",
        login="alice",
        auth_kind="password",
        secret=secret,
        verified_at=VERIFIED,
    )


def raw(path: Path) -> bytes:
    return path.read_bytes()


@pytest.fixture
def repo(conn: aiosqlite.Connection, box: SecretBox) -> AccountRepo:
    return AccountRepo(conn, box)


async def test_save_and_get(repo: AccountRepo) -> None:
    assert await repo.get(1001) is None
    await repo.save(password_account())
    assert await repo.get(1001) == password_account()
    apikey = Account(
        1002, "smsc.kz", None, "apikey", APIKEY, VERIFIED.astimezone(timezone(timedelta(hours=5)))
    )
    await repo.save(apikey)
    assert await repo.get(1002) == apikey
    assert await repo.count() == 2


async def test_save_replaces_and_clears_the_relogin_mark(repo: AccountRepo) -> None:
    await repo.save(password_account())
    await repo.mark_needs_relogin(1001)
    stored = await repo.get(1001)
    assert stored is not None and stored.needs_relogin
    await repo.save(password_account(secret="new-password"))
    stored = await repo.get(1001)
    assert stored is not None
    assert (stored.secret, stored.needs_relogin) == ("new-password", False)
    assert await repo.count() == 1


async def test_delete_keeps_the_language(repo: AccountRepo) -> None:
    await repo.set_language(1001, "en")  # chosen before logging in
    await repo.save(password_account())
    await repo.set_language(1001, "ru")
    assert await repo.delete(1001) is True
    assert await repo.delete(1001) is False
    assert await repo.get(1001) is None
    assert await repo.get_language(1001) == "ru"
    assert await repo.get_language(1002) is None


async def test_subclients(repo: AccountRepo) -> None:
    await repo.save(password_account())
    await repo.add_subclient(1001, "sub_one")
    await repo.add_subclient(1001, "sub_two")
    await repo.add_subclient(1001, "sub_one")  # twice is once
    assert await repo.list_subclients(1001) == ["sub_one", "sub_two"]
    await repo.rename_subclient(1001, "sub_two", "sub_2")
    assert await repo.list_subclients(1001) == ["sub_2", "sub_one"]
    assert await repo.list_subclients(1002) == []
    await repo.delete(1001)  # they belong to the account logged out of
    assert await repo.list_subclients(1001) == []


def test_the_secret_stays_out_of_repr() -> None:
    assert PASSWORD not in repr(password_account())


def test_accounts_are_validated() -> None:
    with pytest.raises(ValueError, match="login"):
        Account(1, "smsc.ru", None, "password", PASSWORD)
    with pytest.raises(ValueError, match="auth_kind"):
        Account(1, "smsc.ru", "alice", "token", PASSWORD)  # type: ignore[arg-type]


async def test_a_secret_copied_to_another_account_does_not_decrypt(
    repo: AccountRepo, conn: aiosqlite.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    first = await repo.save(password_account(chat_id=1001))
    second = await repo.save(password_account(chat_id=2002, secret="other-secret"))
    await conn.execute(
        "UPDATE accounts SET secret = (SELECT a.secret FROM accounts a WHERE a.id = ?)"
        " WHERE id = ?",
        (first.id, second.id),
    )
    with caplog.at_level(logging.WARNING):
        moved = await repo.get(2002)
    assert moved is not None
    assert (moved.secret, moved.needs_relogin) == ("", True)
    assert f"account {second.id}" in caplog.text
    assert PASSWORD not in caplog.text


async def test_a_lost_key_asks_for_a_new_log_in(conn: aiosqlite.Connection, box: SecretBox) -> None:
    await AccountRepo(conn, box).save(password_account())
    other_key = AccountRepo(conn, SecretBox([SecretBox.generate_key()]))
    stored = await other_key.get(1001)
    assert stored is not None and stored.needs_relogin and stored.secret == ""
    # Not written down: with the right key back, the account works again.
    restored = await AccountRepo(conn, box).get(1001)
    assert restored == password_account()


async def test_secrets_never_reach_the_files_in_clear(db_path: Path, box: SecretBox) -> None:
    conn = await open_database(db_path)
    try:
        repo = AccountRepo(conn, box)
        storage = SQLiteStorage(conn)
        await storage.set_state(StorageKey(bot_id=1, chat_id=1001, user_id=1001), "Login:done")
        await repo.save(password_account())
        await repo.save(Account(1002, "smsc.ua", None, "apikey", APIKEY, VERIFIED))
        await repo.save(password_account(chat_id=1003, secret=PASSWORD + "-three"))
        await AuditLog(conn).record(1001, 1001, "login", "alice", "ok")
        files = [db_path, db_path.with_name("bot.db-wal"), db_path.with_name("bot.db-shm")]
        assert all(path.exists() for path in files)
        for path in files:
            content = raw(path)
            for secret in (PASSWORD, APIKEY):
                assert secret.encode() not in content, path.name
                assert secret.encode("utf-16-le") not in content, path.name
        await storage.close()
    finally:
        await conn.close()
    for secret in (PASSWORD, APIKEY):
        assert secret.encode() not in raw(db_path)


async def test_delete_wipes_the_encrypted_secret(db_path: Path, box: SecretBox) -> None:
    conn = await open_database(db_path)
    try:
        repo = AccountRepo(conn, box)
        await repo.save(password_account())
        async with conn.execute("SELECT secret FROM accounts") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        token = bytes(row[0])
        await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert token in raw(db_path)
        await repo.delete(1001)
        await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await conn.close()
    assert token not in raw(db_path)


async def test_audit_log(conn: aiosqlite.Connection) -> None:
    audit = AuditLog(conn)
    assert await audit.recent(1001) == []
    await audit.record(1001, 7, "login", "alice", "ok")
    await audit.record(1001, 7, "contact_add", "79991234567", "error 4", detail="SMSC said no")
    await audit.record(1002, None, "logout", None, "none")
    entries = await audit.recent(1001, limit=10)
    assert [(e.action, e.target, e.result, e.detail) for e in entries] == [
        ("contact_add", "79991234567", "error 4", "SMSC said no"),
        ("login", "alice", "ok", None),
    ]
    assert entries[0].id > entries[1].id
    assert entries[0].at.tzinfo is not None
    assert abs(entries[0].at - datetime.now(UTC)) < timedelta(minutes=1)
    assert [e.action for e in await audit.recent(1001, limit=1)] == ["contact_add"]
    assert (await audit.recent(1002))[0].user_id is None
