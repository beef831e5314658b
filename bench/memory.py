"""Resident memory (VmRSS) of the bot with 10,000 saved accounts and 1,000 open conversations.

One process, three readings of /proc/self/status VmRSS, in order:
  1. the app built by ``build_app``, database empty;
  2. after 10,000 accounts saved through the real ``AccountRepo`` (secrets encrypted) and 1,000
     conversations (state and data) written through the real ``SQLiteStorage`` and read back,
     so they sit in its cache;
  3. after every saved account was handed an SMSC client (``AccountService.client_for``, which
     decrypts the secret and creates the account's limits) and every chat's language was looked up,
     as if all 10,000 chats had used the bot within the last minute.
Beside them, started from this process: a bare interpreter, and one that only imports aiogram
(the floor for any aiogram 3 bot). Goal: reading 3 <= 100 MB.

Run: .venv/bin/python bench/memory.py [--accounts 10000] [--conversations 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet

from bot.app import build_app
from bot.config import Settings
from bot.i18n import ChatLocaleMiddleware
from bot.smsc import Site
from bot.storage.accounts import Account

TOKEN = "123456:BENCH-token-never-sent-anywhere-000"
GOAL_MB = 100.0
REPORT_RSS = "print(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def interpreter_mb(imports: str = "") -> float:
    """VmRSS of a fresh interpreter after ``imports``."""
    code = f"{imports}\n{REPORT_RSS}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout) / 1024


async def main(accounts: int, conversations: int) -> None:
    bare = await asyncio.to_thread(interpreter_mb)
    aiogram_only = await asyncio.to_thread(interpreter_mb, "import aiogram")
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        settings = Settings(
            _env_file=None,
            bot_token=TOKEN,
            # Never called: nothing here talks to SMSC.
            smsc_api_url="http://127.0.0.1:9",
            data_dir=Path(tmp),
            secret_key=Fernet.generate_key().decode(),
        )
        app = await build_app(settings)
        try:
            gc.collect()
            empty = rss_mb()

            repo = app.accounts.repo
            now = datetime.now(UTC)
            chat_ids = range(1_000_000, 1_000_000 + accounts)
            for chat_id in chat_ids:
                await repo.save(
                    Account(
                        chat_id=chat_id,
                        site=Site.RU.value,
                        login=f"login{chat_id}",
                        auth_kind="password",
                        secret=f"password-{chat_id}-with-some-length",
                        verified_at=now,
                    )
                )
            if await repo.count() != accounts:
                raise SystemExit("the accounts were not all saved")
            storage = app.dp.storage
            bot_id = int(TOKEN.split(":")[0])
            for chat_id in chat_ids[:conversations]:
                key = StorageKey(bot_id=bot_id, chat_id=chat_id, user_id=chat_id)
                # What a wizard half-way through keeps: a state and a few answers.
                await storage.set_state(key, "AddContact:phone")
                await storage.set_data(
                    key, {"name": "Иван Петров", "group": 3, "phones": ["+79001234567"]}
                )
            for chat_id in chat_ids[:conversations]:
                key = StorageKey(bot_id=bot_id, chat_id=chat_id, user_id=chat_id)
                assert await storage.get_state(key) == "AddContact:phone"
                await storage.get_data(key)
            gc.collect()
            stored = rss_mb()

            locale = next(
                m for m in app.dp.update.outer_middleware if isinstance(m, ChatLocaleMiddleware)
            )
            for chat_id in chat_ids:
                await app.accounts.client_for(chat_id)
                await locale.prefs.get(chat_id)
            gc.collect()
            active = rss_mb()
        finally:
            await app.close()

    verdict = "meets" if max(stored, active) <= GOAL_MB else "MISSES"
    print(f"Python {platform.python_version()}; VmRSS in MB (goal: <= {GOAL_MB:g} MB)")
    print(f"{'bare interpreter (python -c)':58}{bare:8.1f}")
    print(f"{'interpreter that only imports aiogram':58}{aiogram_only:8.1f}")
    print(f"{'app built, empty database':58}{empty:8.1f}")
    label = f"+ {accounts:,} accounts, {conversations:,} conversations cached"
    print(f"{label:58}{stored:8.1f}   {'meets' if stored <= GOAL_MB else 'MISSES'}")
    label = f"+ all {accounts:,} accounts handed a client, languages read"
    print(f"{label:58}{active:8.1f}   {verdict}")
    print(f"growth over the empty app: {active - empty:.1f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.conversations))
