"""Bot replicas as real ``python -m bot`` processes, and a webhook pushing updates to them."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.botapi import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "replicas-webhook-secret-7"


@dataclass
class Replica:
    """One bot process; its log lines are read as they come, so a test can wait for one."""

    name: str
    env: dict[str, str]
    cwd: Path = ROOT
    lines: list[str] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = None
    _grown: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))
            self._grown.set()
        self._grown.set()

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    async def wait_for_line(self, text: str, within: float = 30.0) -> None:
        async with asyncio.timeout(within):
            while not self.said(text):
                self._grown.clear()
                await self._grown.wait()

    async def exited(self, within: float = 60.0) -> int:
        """Its exit code, once it has ended by itself and its last line is read."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), within)
        if self._reader is not None:
            await self._reader
        return code

    async def kill(self, signum: int = signal.SIGKILL) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), 30)
        if self._reader is not None:
            await self._reader
        return code


@dataclass
class Webhook:
    """Telegram's side of a webhook: queued updates POSTed to the replicas, round robin."""

    telegram: FakeTelegram
    urls: list[str]
    http: aiohttp.ClientSession
    _next: itertools.cycle[int] = field(init=False)

    def __post_init__(self) -> None:
        self._next = itertools.cycle(range(len(self.urls)))
        self.down: set[int] = set()

    def next_replica(self) -> int:
        """The next replica the load balancer would pick (one marked down is skipped)."""
        while (index := next(self._next)) in self.down:
            pass
        return index

    async def post(self, update: dict[str, Any], replica: int) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with self.http.post(self.urls[replica], json=update, headers=headers) as response:
            assert response.status == 200, await response.text()

    async def deliver(self, replica: int | None = None) -> int:
        """Push every queued update, each to the next replica (or all to ``replica``)."""
        updates = self.telegram.take_updates()
        for update in updates:
            await self.post(update, self.next_replica() if replica is None else replica)
        return len(updates)
