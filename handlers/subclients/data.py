"""Conversation states and button data of /subclients: their names and fields are stored in the
wild (FSM rows, buttons already sent), so they keep their prefixes, fields and order."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from bot.errors import StaleButton
from bot.smsc.models import SubclientType
from handlers.common import ByRef, Paged


class SubclientForm(StatesGroup):
    login = State()
    phone = State()
    type = State()
    main_senders = State()
    password = State()


class SubclientEdit(StatesGroup):
    password = State()
    login = State()
    amount = State()


class ScList(CallbackData, Paged, prefix="scl"): ...


class ScCard(CallbackData, ByRef, prefix="scc"): ...


class ScAction(StrEnum):
    NEW = "new"
    PAY = "pay"
    PW = "pw"
    TYPE = "type"
    LOGIN = "login"


class ScAct(CallbackData, prefix="sca"):
    action: ScAction
    ref: str = ""


class ScType(CallbackData, prefix="sct"):
    """A type button: in the creation wizard (``ref`` empty) or for an existing subclient."""

    type: int
    ref: str = ""


class ScCheck(CallbackData, ByRef, prefix="scx"):
    """After a top-up with no answer: what SMSC shows now (today's credit, the balance)."""


class ScNew(CallbackData, prefix="scn"):
    """The creation wizard's other buttons: ``step`` phone (skip) or main (yes/no)."""

    step: str
    value: str = ""


def subclient_type(value: int) -> SubclientType:
    try:
        return SubclientType(value)
    except ValueError:
        raise StaleButton("unknown subclient type") from None
