"""Conversation states and button data of /templates: stored in the wild (FSM rows, buttons already
sent), so they keep their names, prefixes, fields and order."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from handlers.common import ById, Paged


class TemplateForm(StatesGroup):
    name = State()
    text = State()
    format = State()
    sender = State()
    autosign = State()


class TemplateEdit(StatesGroup):
    name = State()
    text = State()


class TpList(CallbackData, Paged, prefix="tpl"): ...


class TpCard(CallbackData, ById, prefix="tpc"): ...


class TpAction(StrEnum):
    ADD = "add"
    NAME = "name"
    TEXT = "text"
    DELETE = "del"


class TpAct(CallbackData, prefix="tpa"):
    action: TpAction
    id: int = 0


class TpFormat(CallbackData, prefix="tpf"):
    format: str


class TpSender(CallbackData, ById, prefix="tps"):
    """A sender name offered in the wizard, by id; 0 is "no sender name"."""


class TpSign(CallbackData, prefix="tpg"):
    yes: bool
