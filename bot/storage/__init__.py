"""Persistence: the SQLite database, the FSM storage, saved accounts and the audit log."""

from bot.storage.accounts import Account, AccountRepo, AuthKind
from bot.storage.audit import AuditEntry, AuditLog
from bot.storage.db import SCHEMA_VERSION, SchemaTooNewError, migrate, open_database
from bot.storage.fsm import SQLiteStorage, StorageBusyError, StorageClosedError

__all__ = [
    "SCHEMA_VERSION",
    "Account",
    "AccountRepo",
    "AuditEntry",
    "AuditLog",
    "AuthKind",
    "SQLiteStorage",
    "SchemaTooNewError",
    "StorageBusyError",
    "StorageClosedError",
    "migrate",
    "open_database",
]
