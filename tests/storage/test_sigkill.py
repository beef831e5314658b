"""A conversation survives the bot being killed with SIGKILL right after a write returned."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.storage.fsm import SQLiteStorage

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)

# The child writes wizard steps as fast as it can and reports each one after its write returned;
# it is still writing when the kill lands, so the kill also catches a write half done.
CHILD = """
import asyncio, sys
from pathlib import Path
from aiogram.fsm.storage.base import StorageKey
from bot.storage.fsm import SQLiteStorage

async def main():
    storage = await SQLiteStorage.open(Path(sys.argv[1]))
    key = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    step = 0
    while True:
        step += 1
        await storage.set_state(key, f"Wizard:step{step}")
        await storage.update_data(key, {"step": step, "name": "Вика"})
        print(f"written {step}", flush=True)

asyncio.run(main())
"""


def test_state_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None
        confirmed = 0
        for line in child.stdout:  # blocks on the child's own output, never on a timer
            confirmed = int(line.split()[1])
            if confirmed >= 30:
                break
        if confirmed < 30:
            child.wait()
            pytest.fail(f"the child stopped early: {child.stderr.read() if child.stderr else ''}")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL

    # Never closed, so the WAL is still there and the next open has to recover from it.
    assert path.with_name("bot.db-wal").stat().st_size > 0
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    async def reopen() -> tuple[str | None, dict[str, object]]:
        storage = await SQLiteStorage.open(path)
        try:
            return await storage.get_state(KEY), await storage.get_data(KEY)
        finally:
            await storage.close()

    state, data = asyncio.run(reopen())
    assert state is not None
    step = int(state.removeprefix("Wizard:step"))
    # Everything the child reported is there; at most the write in flight was lost or landed.
    assert step >= confirmed
    assert data["step"] in (step, step - 1)
    assert data["name"] == "Вика"
