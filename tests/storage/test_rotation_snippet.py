"""The key-rotation script in docs/operations.md, run as an operator runs it."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.crypto import SecretBox
from bot.storage.accounts import Account, AccountRepo
from bot.storage.db import open_database

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Zx9-rotated-password-51be"


def rotation_script() -> str:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    found = re.search(r"\n( *)```python\n(.*?)\n *```", text, re.S)
    assert found and "rotate_secrets.py" in found.group(2), "the rotate_secrets.py block is gone"
    return textwrap.dedent(found.group(1) + found.group(2))


async def save(path: Path, key: str) -> None:
    conn = await open_database(path)
    try:
        repo = AccountRepo(conn, SecretBox([key]))
        await repo.save(Account(1001, "smsc.ru", "alice", "password", PASSWORD))
        await repo.save(Account(-100500, "smsc.kz", None, "apikey", PASSWORD + "-key"))
    finally:
        await conn.close()


async def secrets(path: Path, key: str) -> list[str | None]:
    conn = await open_database(path)
    try:
        repo = AccountRepo(conn, SecretBox([key]))
        accounts = [await repo.get(1001), await repo.get(-100500)]
    finally:
        await conn.close()
    return [account.secret if account else None for account in accounts]


def test_the_documented_rotation_re_encrypts_every_saved_secret(tmp_path: Path) -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    data = tmp_path / "data"
    asyncio.run(save(data / "smsc-bot.sqlite3", old))

    env = {**os.environ, "DATA_DIR": str(data), "SECRET_KEY": f"{new},{old}"}
    run = subprocess.run(
        [sys.executable, "-"],
        input=rotation_script(),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "re-encrypted 2, undecryptable 0"
    assert asyncio.run(secrets(data / "smsc-bot.sqlite3", new)) == [PASSWORD, PASSWORD + "-key"]
