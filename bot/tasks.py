"""Stopping background tasks: the one way the bot's loops are cancelled and awaited."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for its end, cancelling again if a library swallowed the cancel."""
    while not task.done():
        task.cancel()
        # wait() does not raise what the task raised, and returns on timeout to cancel anew.
        await asyncio.wait({task}, timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()
