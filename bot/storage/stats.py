"""Figures of days and months that are over, per SMSC account (``stat_figures``).

Portable SQL (``ON CONFLICT … DO UPDATE``): the same statements run on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import aiosqlite

from bot.storage.engine import PgConnection

Span = Literal["day", "month"]


@dataclass(frozen=True, slots=True)
class Figures:
    """Messages, money spent and money credited in one day or month."""

    start: date
    sms: int = 0
    spent: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    currency: str = ""


class StatFigures:
    """Read and keep the figures of finished days and months."""

    def __init__(self, conn: aiosqlite.Connection | PgConnection) -> None:
        self._conn = conn

    async def get(self, account: str, span: Span, starts: Iterable[date]) -> dict[date, Figures]:
        wanted = sorted({day.isoformat() for day in starts})
        if not wanted:
            return {}
        # One range read, filtered here: no SQL built from the list.
        cursor = await self._conn.execute(
            "SELECT start, sms, spent, credited, currency FROM stat_figures "
            "WHERE account = ? AND span = ? AND start >= ? AND start <= ?",
            (account, span, wanted[0], wanted[-1]),
        )
        rows = await cursor.fetchall()
        await cursor.close()
        found = {}
        keep = set(wanted)
        for start, sms, spent, credited, currency in rows:
            if start not in keep:
                continue
            day = date.fromisoformat(start)
            found[day] = Figures(day, int(sms), Decimal(spent), Decimal(credited), str(currency))
        return found

    async def put(self, account: str, span: Span, figures: Iterable[Figures]) -> None:
        now = time.time()
        rows = [
            (
                account,
                span,
                f.start.isoformat(),
                f.sms,
                str(f.spent),
                str(f.credited),
                f.currency,
                now,
            )
            for f in figures
        ]
        if not rows:
            return
        await self._conn.executemany(
            "INSERT INTO stat_figures "
            "(account, span, start, sms, spent, credited, currency, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, span, start) DO UPDATE SET sms = excluded.sms, "
            "spent = excluded.spent, credited = excluded.credited, "
            "currency = excluded.currency, fetched_at = excluded.fetched_at",
            rows,
        )

    async def forget(self, account: str) -> None:
        """Drop an account's figures (nothing else refers to them)."""
        await self._conn.execute("DELETE FROM stat_figures WHERE account = ?", (account,))
