"""audited(): every way an SMSC change can end is recorded, and the exception goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.audit import audited
from bot.smsc import SmscBadResponse, SmscError, SmscUnavailable
from bot.storage.audit import AuditLog
from bot.storage.db import open_database


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[AuditLog]:
    conn = await open_database(tmp_path / "bot.sqlite3")
    try:
        yield AuditLog(conn)
    finally:
        await conn.close()


async def ok() -> int:
    return 7


@pytest.mark.parametrize(
    ("exc", "result"),
    [
        (SmscError("phones.del", 3), "error 3"),
        (SmscUnavailable("phones.del", "timeout", uncertain=True), "unknown"),
        (SmscBadResponse("phones.del", "not JSON", uncertain=True), "unknown"),
        (SmscUnavailable("phones.del", "ConnectError"), "unreachable"),
        (RuntimeError("bug"), "failed"),
    ],
)
async def test_a_failed_call_is_recorded_and_raised(
    audit: AuditLog, exc: Exception, result: str
) -> None:
    async def fail() -> None:
        raise exc

    with pytest.raises(type(exc)):
        await audited(audit, 1, 2, "contact.delete", "79991234567", fail(), detail="d")
    [entry] = await audit.recent(1)
    assert (entry.action, entry.target, entry.result, entry.detail) == (
        "contact.delete",
        "79991234567",
        result,
        "d",
    )


async def test_a_call_that_worked_is_recorded_ok_and_its_value_returned(audit: AuditLog) -> None:
    assert await audited(audit, 1, None, "group.add", "VIP", ok()) == 7
    [entry] = await audit.recent(1)
    assert (entry.result, entry.user_id) == ("ok", None)
