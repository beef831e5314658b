"""``python -m bot.migrate SQLITE_FILE POSTGRES_URL``: the bot's SQLite database into PostgreSQL.

Stop the bot first. The SQLite file is brought to the current schema, the PostgreSQL database is
created at the same version and must be empty; then every table is copied row for row, in one
transaction (all or nothing). Secrets stay the ciphertext they are: start the replicas with the
same ``SECRET_KEY`` (or the ``secret.key`` file's content). Tables added later by any feature are
copied too, as long as both schemas have them (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bot.storage.db import open_database
from bot.storage.fsm_pg import to_jsonb
from bot.storage.pg import migrate_postgres


class MigrationError(RuntimeError):
    """The copy cannot be made as asked; nothing was written."""


def _convert(value: Any, pg_type: str) -> Any:
    if value is None:
        return None
    if pg_type == "bytea":
        return bytes(value)
    if pg_type in ("bigint", "integer", "smallint"):
        return int(value)
    if pg_type == "double precision":
        return float(value)
    if pg_type == "jsonb":
        # Conversation data as PostgresStorage keeps it (a typed U+0000 escaped).
        return to_jsonb(json.loads(value))
    return str(value) if pg_type == "text" else value


async def copy_database(sqlite_file: Path, url: str) -> dict[str, int]:
    """Copy every table of ``sqlite_file`` into the database at ``url``; rows per table."""
    if not await asyncio.to_thread(sqlite_file.is_file):
        raise MigrationError(f"{sqlite_file} does not exist")
    source = await open_database(sqlite_file)
    try:
        target = await asyncpg.connect(url)
        try:
            return await _copy(source, target)
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy(source: aiosqlite.Connection, target: asyncpg.Connection) -> dict[str, int]:
    await migrate_postgres(target)
    tables = await _parents_first(source)
    columns: dict[str, dict[str, str]] = {}
    for name, column, data_type in await target.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public'"
    ):
        columns.setdefault(name, {})[column] = data_type
    copied: dict[str, int] = {}
    async with target.transaction():
        for table in tables:
            if table not in columns:
                raise MigrationError(f"PostgreSQL has no table {table}: update the bot first")
            if await target.fetchval(f'SELECT count(*) FROM "{table}"'):  # noqa: S608 (a name from the schema)
                raise MigrationError(
                    f"{table} in PostgreSQL is not empty; copy into a new database"
                )
            names = [
                str(row[1])
                for row in await source.execute_fetchall(f'PRAGMA table_info("{table}")')
            ]
            missing = [n for n in names if n not in columns[table]]
            if missing:
                raise MigrationError(f"PostgreSQL's {table} lacks {', '.join(missing)}")
            types = [columns[table][n] for n in names]
            quoted = ", ".join(f'"{n}"' for n in names)
            records = [
                tuple(_convert(v, t) for v, t in zip(row, types, strict=True))
                for row in await source.execute_fetchall(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
            ]
            if records:
                await target.copy_records_to_table(table, records=records, columns=names)
            copied[table] = len(records)
            if records and "id" in names:
                # Identity columns go on after the copied ids.
                sequence = await target.fetchval(
                    "SELECT pg_get_serial_sequence($1, 'id')", f'"{table}"'
                )
                if sequence is not None:
                    last = max(int(record[names.index("id")]) for record in records)
                    await target.execute("SELECT setval($1, $2)", sequence, last)
    return copied


async def _parents_first(source: aiosqlite.Connection) -> list[str]:
    """Every table, each after the tables its foreign keys point at (PostgreSQL checks them
    row by row)."""
    rows = await source.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    )
    graph: dict[str, set[str]] = {}
    for (table,) in rows:
        keys = await source.execute_fetchall(f'PRAGMA foreign_key_list("{table}")')
        graph[str(table)] = {str(key[2]) for key in keys} - {str(table)}
    return list(TopologicalSorter(graph).static_order())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.migrate", description=__doc__)
    parser.add_argument("sqlite_file", type=Path, help="the bot's smsc-bot.sqlite3")
    parser.add_argument("postgres_url", help="postgresql://user:password@host/database")
    args = parser.parse_args(argv)
    try:
        copied = asyncio.run(copy_database(args.sqlite_file, args.postgres_url))
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        # The URL may carry a password: never echo it.
        print(f"nothing was copied: {exc}", file=sys.stderr)
        return 1
    for table, count in copied.items():
        print(f"{table}: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
