"""Liveness: the running bot touches a heartbeat file; ``python -m bot.health`` checks its age.

Polling touches it after every ``getUpdates`` that Telegram answered, a webhook server every
``WEBHOOK_BEAT`` seconds while it serves, so a hung, stopped or cut-off bot goes stale. The
Docker HEALTHCHECK runs the check.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from pydantic_settings import BaseSettings, SettingsConfigDict

HEARTBEAT_NAME: Final = "heartbeat"
# Long polls return at least every 10 s and failed ones are retried within 5 s: two minutes
# without an answered poll is no hiccup.
MAX_AGE: Final = 120.0
WEBHOOK_BEAT: Final = 15.0


class Heartbeat:
    """The file's modification time is the last moment the bot was seen working."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / HEARTBEAT_NAME

    def beat(self) -> None:
        self.path.touch()


def heartbeat_age(data_dir: Path, now: Callable[[], float] = time.time) -> float | None:
    """Seconds since the last beat, or None when there never was one."""
    try:
        return now() - (data_dir / HEARTBEAT_NAME).stat().st_mtime
    except FileNotFoundError:
        return None


class _Where(BaseSettings):
    # Only DATA_DIR, read as the bot reads it; the check needs none of the bot's secrets.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Path("data")


def main() -> int:
    data_dir = _Where().data_dir
    age = heartbeat_age(data_dir)
    if age is None:
        print(f"unhealthy: no heartbeat in {data_dir} yet", file=sys.stderr)
        return 1
    if age > MAX_AGE:
        print(
            f"unhealthy: the last heartbeat is {age:.0f} s old (limit {MAX_AGE:.0f} s): "
            "the bot stopped polling or serving the webhook",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
