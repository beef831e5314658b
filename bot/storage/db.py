"""The bot's SQLite database: opening it with the right pragmas and migrating its schema."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import aiosqlite

# One script per schema version: MIGRATIONS[n - 1] takes the database from version n - 1 to n.
# Append new scripts; never edit one that has shipped, because databases in the field have run it.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE fsm_state (
        bot_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        thread_id INTEGER,
        business_connection_id TEXT,
        destiny TEXT NOT NULL,
        state TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    -- A UNIQUE index treats NULLs as distinct, which would let a key without thread or business
    -- connection be inserted twice. The expressions map NULL to a value of another storage class
    -- (text for the integer column, a blob for the text column), which no real id can equal.
    CREATE UNIQUE INDEX fsm_state_key ON fsm_state (
        bot_id, chat_id, user_id, ifnull(thread_id, ''), ifnull(business_connection_id, x''),
        destiny
    );

    CREATE TABLE accounts (
        chat_id INTEGER PRIMARY KEY,
        site TEXT NOT NULL,
        login TEXT,
        auth_kind TEXT NOT NULL CHECK (auth_kind IN ('password', 'apikey')),
        secret BLOB NOT NULL,
        verified_at TEXT,
        needs_relogin INTEGER NOT NULL DEFAULT 0 CHECK (needs_relogin IN (0, 1)),
        CHECK (auth_kind = 'apikey' OR login IS NOT NULL)
    );

    -- Separate from accounts: a chat picks its language before logging in and keeps it after
    -- logging out.
    CREATE TABLE chat_settings (
        chat_id INTEGER PRIMARY KEY,
        language TEXT
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        chat_id INTEGER NOT NULL,
        user_id INTEGER,
        action TEXT NOT NULL,
        target TEXT,
        result TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX audit_log_chat ON audit_log (chat_id, id);

    -- Subclients belong to the SMSC account the chat is logged in to, so logging out forgets them.
    CREATE TABLE subclients (
        chat_id INTEGER NOT NULL REFERENCES accounts (chat_id) ON DELETE CASCADE,
        login TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (chat_id, login)
    ) WITHOUT ROWID;
    """,
    # 2: updates the bot has taken on (bot.storage.updates), so a redelivery is not handled twice.
    """
    CREATE TABLE handled_updates (
        bot_id INTEGER NOT NULL,
        update_id INTEGER NOT NULL,
        PRIMARY KEY (bot_id, update_id)
    ) WITHOUT ROWID;
    """,
    # 3: log-in conversations of earlier versions kept the typed login in clear, and a password
    # sent at the login step with it; the conversations now keep it encrypted. Those users start
    # the log-in again (secure_delete overwrites the rows).
    """
    DELETE FROM fsm_state WHERE state LIKE 'LoginForm:%';
    """,
    # 4: confirmations asked in chats (bot.storage.confirmations): each Yes is used at most once.
    # Rows are kept after use, so an old button can always be told apart from a new one.
    """
    CREATE TABLE confirmations (
        id TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        account TEXT NOT NULL,
        action TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        asked_by INTEGER,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'open' CHECK (
            state IN ('open', 'claimed', 'done', 'failed', 'unknown', 'cancelled')
        ),
        used_by INTEGER,
        used_at REAL
    ) WITHOUT ROWID;
    """,
    # 5: the failed-authorisation budget (bot.smsc.budget, bot.storage.budget): failures per SMSC
    # host, so a restart does not reset SMSC's count, and credentials SMSC refused, by keyed hash.
    """
    CREATE TABLE auth_failures (
        id INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        at REAL NOT NULL,
        user_id INTEGER,
        kind TEXT NOT NULL CHECK (kind IN ('login', 'saved')),
        newcomer INTEGER NOT NULL CHECK (newcomer IN (0, 1)),
        -- 1 while the request is in flight: a crash leaves it, and it counts as a failure.
        pending INTEGER NOT NULL CHECK (pending IN (0, 1))
    );
    CREATE INDEX auth_failures_at ON auth_failures (at);

    CREATE TABLE auth_rejections (
        key BLOB PRIMARY KEY,
        at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 6 (statistics, bot.services.stats): an SMSC account's own figures for days and months
    # that are over, so trends ask SMSC only for what is still changing. Plain SQL that
    # PostgreSQL runs too; money as decimal text.
    """
    CREATE TABLE stat_figures (
        account TEXT NOT NULL,
        span TEXT NOT NULL CHECK (span IN ('day', 'month')),
        start TEXT NOT NULL,
        sms INTEGER NOT NULL,
        spent TEXT NOT NULL,
        credited TEXT NOT NULL,
        currency TEXT NOT NULL,
        fetched_at REAL NOT NULL,
        PRIMARY KEY (account, span, start)
    );
    """,
    # 7: teams (issue 12, bot.storage.teams): an SMSC account has an id of its own and an owner,
    # people are its members with a role, chats point at the account they act on, invitations.
    # A private-chat log-in becomes a team of one owned by its user; a group log-in is owned by
    # the user the audit log names as its last successful log-in (no owner when it names nobody),
    # and the group stays linked with the role viewer. Portable SQL: no SQLite-only functions.
    """
    ALTER TABLE accounts RENAME TO accounts_v5;
    ALTER TABLE subclients RENAME TO subclients_v5;

    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER,
        -- The number bound into the encrypted secret (bot.crypto): the chat id for log-ins saved
        -- before teams, a random number since. Unique, so a token copied to another row fails.
        seal INTEGER NOT NULL UNIQUE,
        site TEXT NOT NULL,
        login TEXT,
        auth_kind TEXT NOT NULL CHECK (auth_kind IN ('password', 'apikey')),
        secret BLOB NOT NULL,
        verified_at TEXT,
        needs_relogin INTEGER NOT NULL DEFAULT 0 CHECK (needs_relogin IN (0, 1)),
        CHECK (auth_kind = 'apikey' OR login IS NOT NULL)
    );
    INSERT INTO accounts
        (owner_id, seal, site, login, auth_kind, secret, verified_at, needs_relogin)
    SELECT
        CASE WHEN a.chat_id > 0 THEN a.chat_id ELSE (
            SELECT l.user_id FROM audit_log l
            WHERE l.chat_id = a.chat_id AND l.action = 'login' AND l.result = 'ok'
                AND l.user_id IS NOT NULL
            ORDER BY l.id DESC LIMIT 1
        ) END,
        a.chat_id, a.site, a.login, a.auth_kind, a.secret, a.verified_at, a.needs_relogin
    FROM accounts_v5 a ORDER BY a.chat_id DESC;

    CREATE TABLE members (
        account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'owner')),
        name TEXT NOT NULL DEFAULT '',
        added_at REAL,
        PRIMARY KEY (account_id, user_id)
    );
    CREATE INDEX members_user ON members (user_id);
    INSERT INTO members (account_id, user_id, role)
    SELECT id, owner_id, 'owner' FROM accounts WHERE owner_id IS NOT NULL;

    -- Which account a chat acts on: a private chat its user's current one (role NULL: the
    -- user's own), a linked group the account and the role its members have there.
    CREATE TABLE chats (
        chat_id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        role TEXT CHECK (role IN ('viewer', 'operator', 'admin')),
        linked_by INTEGER
    );
    INSERT INTO chats (chat_id, account_id, role)
    SELECT seal, id, CASE WHEN seal > 0 THEN NULL ELSE 'viewer' END FROM accounts;
    -- A group's owner with no log-in of his own goes on with that account in private too.
    INSERT INTO chats (chat_id, account_id, role)
    SELECT owner_id, id, NULL FROM accounts WHERE seal < 0 AND owner_id IS NOT NULL
    ON CONFLICT (chat_id) DO NOTHING;

    CREATE TABLE invitations (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        created_by INTEGER NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_by INTEGER,
        used_at REAL,
        revoked_at REAL
    );

    CREATE TABLE subclients (
        account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        login TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (account_id, login)
    );
    INSERT INTO subclients (account_id, login, created_at)
    SELECT a.id, s.login, s.created_at FROM subclients_v5 s JOIN accounts a ON a.seal = s.chat_id;
    DROP TABLE subclients_v5;
    DROP TABLE accounts_v5;

    ALTER TABLE audit_log ADD COLUMN account_id INTEGER;
    ALTER TABLE audit_log ADD COLUMN user_name TEXT;
    UPDATE audit_log SET account_id = (
        SELECT c.account_id FROM chats c WHERE c.chat_id = audit_log.chat_id
    );
    CREATE INDEX audit_log_account ON audit_log (account_id, id);
    """,
    # 8: notifications (bot.services.notify, bot.storage.notify). An SMSC account is named by
    # AccountService.identity, a receiver by its chat. What an account is watched for
    # (notify_watch, an admin's choice in a team) is kept apart from who receives it and with what
    # parameter (notify_subs, each chat's or member's choice). The rest is what prevents
    # duplicates across restarts: alert states, statuses seen, digests sent, and the outbox.
    """
    CREATE TABLE notify_watch (
        account TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('balance', 'senders', 'digest')),
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        PRIMARY KEY (account, kind)
    );

    CREATE TABLE notify_subs (
        chat_id INTEGER NOT NULL,
        account TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('balance', 'senders', 'digest')),
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        -- balance: the threshold as a decimal string; digest: 'daily' or 'weekly'
        param TEXT,
        -- digest: minutes after local midnight
        at_minute INTEGER,
        -- epoch seconds of the last change: a digest falling due before it is not owed
        since REAL NOT NULL,
        PRIMARY KEY (chat_id, account, kind)
    );
    CREATE INDEX notify_subs_account ON notify_subs (account, kind);

    -- The chat's time zone, and the language it last used /notify in (a private chat's
    -- Telegram language is known only while it writes; a /lang choice comes first).
    CREATE TABLE notify_chats (
        chat_id INTEGER PRIMARY KEY,
        tz TEXT NOT NULL,
        language TEXT
    );

    -- One row per followed SMSC account: when it is next read, and whether the chat that saved
    -- refused credentials was told.
    CREATE TABLE notify_accounts (
        account TEXT PRIMARY KEY,
        next_balance REAL NOT NULL,
        next_senders REAL NOT NULL,
        refused_told INTEGER NOT NULL DEFAULT 0 CHECK (refused_told IN (0, 1))
    );

    -- 1 armed (the next crossing below alerts), 0 fired (waiting for threshold + 10 %).
    CREATE TABLE notify_balance (
        account TEXT NOT NULL,
        threshold TEXT NOT NULL,
        armed INTEGER NOT NULL CHECK (armed IN (0, 1)),
        PRIMARY KEY (account, threshold)
    );

    CREATE TABLE notify_senders (
        account TEXT NOT NULL,
        sender TEXT NOT NULL,
        operator TEXT NOT NULL,
        status INTEGER NOT NULL,
        PRIMARY KEY (account, sender, operator)
    );

    -- A digest period once queued for a chat is never queued again.
    CREATE TABLE notify_digests (
        chat_id INTEGER NOT NULL,
        account TEXT NOT NULL,
        period TEXT NOT NULL,
        queued_at REAL NOT NULL,
        PRIMARY KEY (chat_id, account, period)
    );

    -- An account's figures for a period, read once for every chat and kept for the next
    -- period's comparison.
    CREATE TABLE notify_figures (
        account TEXT NOT NULL,
        period TEXT NOT NULL,
        figures TEXT NOT NULL,
        PRIMARY KEY (account, period)
    );

    -- Messages decided but not yet delivered: a restart sends them rather than losing them.
    CREATE TABLE notify_outbox (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 9: notifications: chats that blocked the bot (Telegram answered 403), so that no restart
    # sends them anything until they switch a notification on again (bot.services.outbox).
    """
    CREATE TABLE notify_blocked (
        chat_id INTEGER PRIMARY KEY,
        blocked_at REAL NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

BUSY_TIMEOUT_MS = 5000


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the bot than the one running."""


async def open_database(path: Path) -> aiosqlite.Connection:
    """Open (creating if needed) the database at `path`, configure it, bring its schema up to date.

    The connection is in autocommit mode: every statement is its own committed transaction.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _create_private(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await _configure(conn)
        await migrate(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


def _create_private(path: Path) -> None:
    # FSM data and the audit log are personal data. SQLite gives the -wal and -shm files the mode
    # of the database file, so creating that one owner-only keeps all three private.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


async def _configure(conn: aiosqlite.Connection) -> None:
    # Only takes effect while the file is empty. Every FSM step commits one page to the WAL, and
    # writing and checksumming 1 KiB instead of 4 KiB makes that commit about a third cheaper; the
    # bot's rows are small, so the smaller pages cost nothing elsewhere.
    await conn.execute("PRAGMA page_size = 1024")
    async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    if row is None or str(row[0]).lower() != "wal":
        raise RuntimeError(f"SQLite refused WAL journal mode (got {row!r})")
    # In WAL mode NORMAL appends each commit to the WAL without fsync; the fsync happens at
    # checkpoints. A commit is in the OS page cache when the call returns, so it survives the death
    # of the process (SIGKILL, OOM, crash), the failure a bot restart has to survive; only a power
    # loss or kernel crash can drop the last commits, and even then the file stays consistent.
    # FULL would fsync on every FSM step, costing milliseconds per message on real disks.
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Deleted rows (a logged-out account's encrypted secret, finished conversations) are
    # overwritten with zeros instead of lingering in free pages.
    await conn.execute("PRAGMA secure_delete = ON")


async def schema_version(conn: aiosqlite.Connection) -> int:
    """Return the schema version recorded in the database (0 for a new file)."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply the migrations the database lacks, all in one transaction; return the new version."""
    # IMMEDIATE takes the write lock before reading the version, so two processes starting at once
    # cannot both decide to run the same migration.
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await schema_version(conn)
        if current > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"database schema version {current} is newer than this bot knows "
                f"({SCHEMA_VERSION}); run the newer bot or restore a backup"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            # executescript() would commit the open transaction first: one statement at a time.
            for statement in split_statements(MIGRATIONS[version - 1]):
                await conn.execute(statement)
            # user_version lives in the database header, so it commits or rolls back with the rest.
            await conn.execute(f"PRAGMA user_version = {version}")
        await conn.execute("COMMIT")
    except BaseException:
        # Suppressed so that a failing ROLLBACK cannot hide the error that caused it.
        with contextlib.suppress(sqlite3.Error, ValueError):
            await conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def checkpoint(path: str | Path, mode: str = "PASSIVE", *, timeout: float = 0.0) -> bool:
    """Run ``PRAGMA wal_checkpoint(mode)`` on a connection of its own; False if it was blocked.

    Blocking: run it on a worker thread. ``timeout`` is how long TRUNCATE may wait for readers.
    """
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    # A connection of its own: on the shared aiosqlite connection a checkpoint fails with
    # "database table is locked" whenever any read on it is between its fetches, which under
    # load is nearly always.
    with contextlib.closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as db:
        row = db.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return row is None or row[0] == 0


def split_statements(script: str) -> list[str]:
    """Split an SQL script into statements (semicolons in strings and triggers are kept)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement.strip(";").strip() and not _only_comments(statement):
                statements.append(statement)
            pending = ""
    if pending.strip(" \t\n;"):
        raise ValueError("SQL script ends with an incomplete statement")
    return statements


def _only_comments(statement: str) -> bool:
    lines = (line.strip() for line in statement.splitlines())
    return all(not line or line.startswith("--") or line == ";" for line in lines)
