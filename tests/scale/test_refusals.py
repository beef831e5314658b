"""A second replica without what replicas share is refused at start, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import closed_port
from tests.support.fixtures import TEST_TOKEN


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "BOT_TOKEN": TEST_TOKEN,
        "DATA_DIR": str(tmp_path),
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_replicas_without_redis_are_refused_in_one_line(tmp_path: Path) -> None:
    done = start(tmp_path, REPLICAS="3", DATABASE_URL="postgresql://bot:pw@127.0.0.1:9/bot")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "REPLICAS=3 needs REDIS_URL: without it each replica counts SMSC's limits on its own and "
        "together they would get the server's IP blocked (see docs/scaling.md)."
    ]
    assert not (tmp_path / "smsc-bot.sqlite3").exists()


def test_replicas_on_a_sqlite_file_are_refused_in_one_line(tmp_path: Path) -> None:
    done = start(tmp_path, REPLICAS="2", REDIS_URL="redis://127.0.0.1:9/0")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "REPLICAS=2 needs DATABASE_URL=postgresql://...: replicas cannot share a SQLite file "
        "(see docs/scaling.md)."
    ]


def test_passwords_in_the_urls_never_reach_the_log(tmp_path: Path) -> None:
    port = closed_port()
    done = start(
        tmp_path,
        DATABASE_URL=f"postgresql://bot:Db-Pass-31337@127.0.0.1:{port}/bot",
        REDIS_URL=f"redis://:Redis-Pass-4242@127.0.0.1:{port}/0",
        LOG_LEVEL="DEBUG",
    )
    assert done.returncode == 1
    # One line that says what is wrong, not a traceback.
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("DATABASE_URL: cannot open the database (")
    assert "Db-Pass-31337" not in done.stderr + done.stdout
    assert "Redis-Pass-4242" not in done.stderr + done.stdout
