"""Conversation state and button data of /stats: stored in the wild (FSM rows, buttons already
sent), so they keep their names, prefixes and fields. "Another period" (``StAsk``) is in bot/ui.py:
a subclient's card shows it too."""

from __future__ import annotations

from datetime import date

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel

from bot.errors import StaleButton
from bot.periods import Period, decode_day
from handlers.common import Number


class StatsForm(StatesGroup):
    period = State()


class StPick(CallbackData, prefix="stp"):
    """A period button: for every subclient (``ref`` empty) or for one."""

    preset: str
    ref: str = ""


class Days(BaseModel):
    """A period: its first and last day as ``encode_day`` numbers (``period_from`` reads them)."""

    s: int
    e: int


class StShow(CallbackData, Days, prefix="sts"):
    """Every subclient's line for a period."""


class StOps(CallbackData, Days, prefix="sto"):
    """One subclient's per-operator breakdown for a period.

    ``r``: 1 it has its own balance (asked with reseller=1), 0 it shares the main one, -1 unknown
    (a button from before ``r`` existed): looked up.
    """

    ref: str
    r: int = -1


def period_from(s: int, e: int) -> Period:
    try:
        start, end = decode_day(s), decode_day(e)
        return Period(start, min(end, date.today()))
    except ValueError:
        raise StaleButton("malformed period button") from None


class StTrend(CallbackData, prefix="stt"):
    """The account's trend as a chart: ``sp`` "m" the last 12 months, "d" this month by day."""

    sp: str


class StChart(CallbackData, prefix="stc"):
    """Spend per subclient (``k`` "s") or per operator ("o") for a period, as bars."""

    k: str
    s: int
    e: int


class StExport(CallbackData, prefix="stx"):
    """The period's table as a file: ``f`` "c" CSV, "x" XLSX."""

    f: str
    s: int
    e: int


class HiMore(CallbackData, Number, prefix="him"):
    """A page of the history of number ``p``: messages sent before int_id ``b`` (0: the newest)."""

    b: int = 0
