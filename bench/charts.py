"""Trend charts: drawing time beside bare matplotlib, the bot's memory, SMSC requests on a repeat.

A 12-month trend of the account's own figures, filled once from the SMSC emulator (in this
process) into SQLite; then:

- drawing time: ``bot.services.stats.trend_chart`` (our figure: Babel money and month ticks,
  two panels, PNG, on a worker thread) beside matplotlib drawing the same two panels of bars at
  the same size and dpi with its defaults (no formatters, no thread), in the same run, alternating.
  Goal: ours ≤ 300 ms and ≤ 1.2 × bare (medians).
- memory: the process's RSS before the first chart (matplotlib not imported yet), after it, and
  after 100 more; goal: no growth past the first (within the allocator's noise, 2 MB).
- SMSC: requests for a second 12-month trend the same day; goal: 1 (this month) or 0.

Run: .venv/bin/python bench/charts.py [--rounds 30] [--charts 100]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services import stats  # noqa: E402
from bot.smsc import Credentials, SmscConnector, SmscSettings  # noqa: E402
from bot.smsc.emulator import SmscEmulator, seed_messages  # noqa: E402
from bot.storage.db import open_database  # noqa: E402
from bot.storage.stats import StatFigures  # noqa: E402

TODAY = date(2026, 12, 2)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bare(points: list[tuple[date, int, float]]) -> bytes:
    """The same two panels with plain matplotlib: its defaults (no layout engine), no
    formatters, no thread, a new figure each time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 7.2), dpi=150)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    xs = list(range(len(points)))
    top.bar(xs, [p[2] for p in points])
    bottom.bar(xs, [p[1] for p in points])
    bottom.set_xticks(xs, [p[0].strftime("%b") for p in points])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def main(rounds: int, charts: int) -> None:
    emulator = SmscEmulator(demo=False)
    account = emulator.add_account("bench", "Bench-Passw0rd")
    # A message every three hours for 13 months: ~3,200 lines for get_stat to sum.
    seed_messages(
        account, "79161112233", 3200, last=datetime(2026, 12, 2, 9), every=timedelta(hours=3)
    )
    await emulator.start()
    connector = SmscConnector(SmscSettings(api_url=emulator.base_url))
    smsc = connector.client(Credentials.with_password("bench", "Bench-Passw0rd"))
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(Path(tmp) / "bot.db")
        trends = stats.Trends(StatFigures(db), today=lambda: TODAY)
        key = "smsc.ru|bench"
        trend = await trends.months(smsc, key)
        filled = len(emulator.requests)
        before = rss_mb()
        assert "matplotlib" not in sys.modules, "matplotlib must not be imported before a chart"
        started = time.perf_counter()
        await stats.trend_chart(trend, locale="ru")
        first_ms = (time.perf_counter() - started) * 1000
        after_first = rss_mb()
        # Memory before the timing rounds: the bare peer's figures are garbage of their own.
        for _ in range(charts):
            await stats.trend_chart(trend, locale="ru")
        after_many = rss_mb()
        points = [(p.start, p.sms, float(p.spent)) for p in trend.points]
        ours: list[float] = []
        peer: list[float] = []
        for _ in range(rounds):
            started = time.perf_counter()
            await stats.trend_chart(trend, locale="ru")
            ours.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            bare(points)
            peer.append((time.perf_counter() - started) * 1000)
        requests_before = len(emulator.requests)
        again = await trends.months(smsc, key)
        second_requests = len(emulator.requests) - requests_before
        await db.close()
    await connector.aclose()
    await emulator.stop()
    ours_ms, peer_ms = statistics.median(ours), statistics.median(peer)
    print(f"{date.today()} {platform.python_implementation()} {platform.python_version()}")
    print(f"first fill: {filled} SMSC requests; second trend the same day: {second_requests}")
    print(f"asked by the service: {again.asked}")
    print(f"first chart (imports matplotlib): {first_ms:.0f} ms")
    print(f"drawing, median of {rounds}: ours {ours_ms:.0f} ms, bare matplotlib {peer_ms:.0f} ms,")
    print(f"  ratio {ours_ms / peer_ms:.2f} (goal ≤ 1.2), ours ≤ 300 ms: {ours_ms <= 300}")
    print(f"RSS: before {before:.1f} MB, after the first chart {after_first:.1f} MB,")
    print(f"  after {charts} more {after_many:.1f} MB (growth {after_many - after_first:+.1f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--charts", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.charts))
