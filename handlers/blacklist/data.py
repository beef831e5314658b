"""What /black and /unblack keep in the wild: conversation states and button data.

The class names of the states are stored in FSM rows and the prefixes and fields of the button
data in messages already sent: neither may change.
"""

from __future__ import annotations

import re
from typing import Final

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from handlers.common import BlAdd as BlAdd  # re-exported: the feature's own button
from handlers.common import Choice, Number

PAGE_SIZE: Final = 10
MAX_FILE_BYTES: Final = 1_000_000
FILE_SUFFIXES: Final = (".txt", ".csv")
MARK: Final = "✓ "
PARTIAL_NUMBER: Final = re.compile(r"[\d\s+()\-]+")


class BlackAdd(StatesGroup):
    numbers = State()


class BlackSearch(StatesGroup):
    query = State()


class BlackRemove(StatesGroup):
    number = State()


class BlType(CallbackData, Number, prefix="blt"):
    """Set the type of ``p``'s entry; ``n``: it was added just now, so Undo is offered."""

    t: int
    n: bool


class BlUndo(CallbackData, Number, prefix="blu"): ...


class BlDel(CallbackData, Number, prefix="bld"): ...


class BlPage(CallbackData, prefix="blp"):
    """A page: ``d`` "n" lists entries older than ``at`` (0: the newest), "p" those just newer."""

    d: str
    at: int
    q: str = ""


class BlMenu(CallbackData, Choice, prefix="blm"): ...
