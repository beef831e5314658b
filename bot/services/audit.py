"""One way to audit an SMSC change: run it and record how it ended, whatever that was."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from bot.smsc import SmscBadResponse, SmscError, SmscUnavailable
from bot.storage.audit import AuditLog

T = TypeVar("T")


def outcome_of(exc: BaseException | None) -> str:
    """The audit result for a call that raised ``exc`` (None: it succeeded)."""
    if exc is None:
        return "ok"
    if isinstance(exc, SmscError):
        return f"error {exc.code}"
    if isinstance(exc, SmscUnavailable | SmscBadResponse):
        # A write whose request may have reached SMSC may have been applied.
        return "unknown" if exc.uncertain else "unreachable"
    return "failed"


async def audited(
    audit: AuditLog,
    chat_id: int,
    user_id: int | None,
    action: str,
    target: str | None,
    call: Awaitable[T],
    *,
    detail: str | None = None,
) -> T:
    """Await ``call`` and record ok / error N / unknown / unreachable; an exception goes on."""
    try:
        result = await call
    except Exception as exc:
        await audit.record(chat_id, user_id, action, target, outcome_of(exc), detail)
        raise
    await audit.record(chat_id, user_id, action, target, "ok", detail)
    return result
