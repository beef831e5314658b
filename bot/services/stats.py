"""Statistics of an SMSC account: its own figures for a period, its subclients' lines and
operators, and trends (12 months month by month, this month day by day) with the days and months
that are over kept in SQLite, so a repeat asks SMSC only for what still changes.

Public API (the handlers and the notifications' digest use it): ``own_totals``, ``subclient_rows``,
``operator_spend``, ``Trends.months`` / ``Trends.days`` / ``Trends.between`` (any run of days, the
digest's chart), and ``trend_chart`` / ``bars_chart`` (PNG bytes, drawn on a worker thread). Free
of aiogram: texts come from the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from bot import charts
from bot.periods import Period
from bot.smsc import SmscClient
from bot.smsc.models import StatRow
from bot.storage.stats import Figures, Span, StatFigures

# Requests a first fill keeps in flight for one login: under the client's cap of 4, so the
# user's other taps still get through while a trend fills.
FILL_CONCURRENCY: Final = 2
MONTHS: Final = 12

__all__ = [
    "Figures",
    "Trend",
    "Trends",
    "bars_chart",
    "operator_spend",
    "own_totals",
    "subclient_rows",
    "trend_chart",
]


async def own_totals(smsc: SmscClient, period: Period) -> Figures:
    """The account's own messages, money spent and credited in the period (get.php get_stat)."""
    stat = await smsc.get_account_stat(period.start, period.end)
    return Figures(period.start, stat.sms, stat.spent, stat.credited, stat.currency)


def merge_rows(*lists: Sequence[StatRow]) -> list[StatRow]:
    """Rows of both get_stat calls, each login once, the biggest spender first."""
    seen: dict[str, StatRow] = {}
    for found in lists:
        for row in found:
            seen.setdefault(row.login, row)
    return sorted(seen.values(), key=lambda r: (-r.spent, r.login.casefold()))


async def subclient_rows(smsc: SmscClient, period: Period) -> tuple[list[StatRow], set[str]]:
    """Every subclient's line for the period, and the logins with their own balance.

    SMSC lists subclients sharing the main balance and those with their own in separate calls.
    """
    own = await smsc.get_stat(period.start, period.end, reseller=True)
    shared = await smsc.get_stat(period.start, period.end)
    return merge_rows(shared, own), {row.login for row in own}


async def operator_spend(smsc: SmscClient, period: Period) -> list[tuple[str, int, Decimal, str]]:
    """Messages and money spent per operator in the period, over every subclient: (operator,
    messages, spent, currency), the biggest first; lines without an operator (top-ups) left out."""
    found = [
        *await smsc.get_stat_all(period.start, period.end),
        *await smsc.get_stat_all(period.start, period.end, reseller=True),
    ]
    sums: dict[tuple[str, str], list[object]] = {}
    for row in found:
        for item in row.items:
            name = item.operator or item.mccmnc
            if not name or not (item.sms or item.spent):
                continue
            entry = sums.setdefault((name, item.currency), [0, Decimal(0)])
            entry[0] = int(str(entry[0])) + item.sms
            entry[1] = Decimal(str(entry[1])) + item.spent
    result = [(k[0], int(str(v[0])), Decimal(str(v[1])), k[1]) for k, v in sums.items()]
    return sorted(result, key=lambda r: (-r[2], r[0].casefold()))


@dataclass(frozen=True, slots=True)
class Trend:
    """A series of figures, oldest first: months or days. ``asked`` counts the SMSC requests it
    took (0 when everything came from SQLite)."""

    span: Span
    points: tuple[Figures, ...]
    asked: int

    @property
    def currency(self) -> str:
        return next((p.currency for p in reversed(self.points) if p.currency), "")

    @property
    def total(self) -> Figures:
        first = self.points[0].start if self.points else date.today()
        return Figures(
            first,
            sum(p.sms for p in self.points),
            sum((p.spent for p in self.points), Decimal(0)),
            sum((p.credited for p in self.points), Decimal(0)),
            self.currency,
        )


def _month_end(start: date) -> date:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first days of the last ``count`` months, this one included, oldest first."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


class Trends:
    """Month and day series of one SMSC account, kept under its ``AccountService.identity``."""

    def __init__(self, store: StatFigures, *, today: Callable[[], date] = date.today) -> None:
        self._store = store
        self._today = today

    async def months(self, smsc: SmscClient, account: str, count: int = MONTHS) -> Trend:
        """The last ``count`` months, this one to today.

        This month is the sum of its finished days and today when the day series has kept them
        all (then a repeat asks SMSC for today only), else one request from the 1st to today.
        """
        today = self._today()
        spans = [(start, min(_month_end(start), today)) for start in month_starts(today, count)]
        first = spans[-1][0]
        finished = [first + timedelta(days=n) for n in range((today - first).days)]
        kept_days = await self._store.get(account, "day", finished)
        if len(kept_days) < len(finished):
            return await self._series(smsc, account, "month", spans, today)
        past = await self._series(smsc, account, "month", spans[:-1], today)
        now = await self._series(smsc, account, "day", [(today, today)], today)
        days = [*kept_days.values(), *now.points]
        current = Figures(
            first,
            sum(d.sms for d in days),
            sum((d.spent for d in days), Decimal(0)),
            sum((d.credited for d in days), Decimal(0)),
            next((d.currency for d in reversed(days) if d.currency), ""),
        )
        return Trend("month", (*past.points, current), past.asked + now.asked)

    async def days(self, smsc: SmscClient, account: str) -> Trend:
        """Every day of this month up to today."""
        today = self._today()
        spans = [(today.replace(day=d), today.replace(day=d)) for d in range(1, today.day + 1)]
        return await self._series(smsc, account, "day", spans, today)

    async def between(self, smsc: SmscClient, account: str, first: date, last: date) -> Trend:
        """Every day from ``first`` to ``last``: the days that are over are asked of SMSC once."""
        spans = [(first + timedelta(days=n),) * 2 for n in range((last - first).days + 1)]
        return await self._series(smsc, account, "day", spans, self._today())

    async def _series(
        self,
        smsc: SmscClient,
        account: str,
        span: Span,
        spans: list[tuple[date, date]],
        today: date,
    ) -> Trend:
        over = [start for start, end in spans if end < today and _over(span, start, today)]
        kept = await self._store.get(account, span, over)
        missing = [(start, end) for start, end in spans if start not in kept]
        gate = asyncio.Semaphore(FILL_CONCURRENCY)

        async def fetch(start: date, end: date) -> Figures:
            async with gate:
                stat = await smsc.get_account_stat(start, end)
            return Figures(start, stat.sms, stat.spent, stat.credited, stat.currency)

        results = await asyncio.gather(
            *(fetch(start, end) for start, end in missing), return_exceptions=True
        )
        fetched = [r for r in results if isinstance(r, Figures)]
        over_set = set(over)
        # Kept only once over: today's (and this month's) figures still change. What did arrive
        # is kept even when another request failed, so a retry asks only for the rest.
        await self._store.put(account, span, [f for f in fetched if f.start in over_set])
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure
        found = {**kept, **{f.start: f for f in fetched}}
        points = tuple(found[start] for start, _end in spans)
        return Trend(span, points, asked=len(missing))


def _over(span: Span, start: date, today: date) -> bool:
    if span == "day":
        return start < today
    return _month_end(start) < today


async def trend_chart(trend: Trend, *, locale: str, translate: Callable[[str], str] = str) -> bytes:
    """The trend as a PNG (spend as bars, messages below), drawn on the charts thread."""
    text = charts.trend_text(trend.span, translate)
    points = [(p.start, p.sms, p.spent) for p in trend.points]
    return await charts.render(charts.draw_trend, points, trend.span, trend.currency, locale, text)


async def bars_chart(
    title: str, rows: Sequence[tuple[str, Decimal]], currency: str, *, locale: str
) -> bytes:
    """Horizontal bars of money per name (subclients, operators), the biggest on top, as a PNG."""
    return await charts.render(charts.draw_bars, title, list(rows), currency, locale)
