"""Conversation states and button data of /senders: stored in the wild (FSM rows, buttons already
sent), so they keep their names, prefixes, fields and order."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from handlers.common import ById, Paged


class SenderForm(StatesGroup):
    name = State()
    comment = State()


class SenderComment(StatesGroup):
    text = State()


class SenderCode(StatesGroup):
    code = State()


class SnList(CallbackData, Paged, prefix="snl"): ...


class SnCard(CallbackData, ById, prefix="snc"): ...


class SnAction(StrEnum):
    ADD = "add"
    COMMENT = "cmt"
    DELETE = "del"
    CODE = "code"  # send one
    ENTER = "enter"  # type one


class SnAct(CallbackData, prefix="sna"):
    """``name`` only for codes."""

    action: SnAction
    id: int = 0
    name: str = ""
