"""The log-in conversation's states and button data: stored in the wild (FSM rows, buttons
already sent), so their names, prefixes and fields never change."""

from __future__ import annotations

from typing import Annotated, Final

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, Field

from bot.commands import COMMANDS

# The bot's own commands go on to their handlers from inside the conversation; any other text,
# even one starting with "/", may be the login or the secret.
BOT_COMMAND = Command(*(name for name, _text in COMMANDS))


class LoginForm(StatesGroup):
    site = State()
    method = State()
    login = State()
    secret = State()


# Every state of the log-in conversation starts with this (aiogram names states "Group:state").
LOGIN_STATES: Final = f"{LoginForm.__full_group_name__}:"


class LoginSite(CallbackData, prefix="ls"):
    site: str


class LoginMethod(CallbackData, prefix="lm"):
    apikey: bool


# -- teams (team.py, link.py, audit.py)

# What SQLite's INTEGER holds: forged data beyond it is a stale button, not an overflow.
Id = Annotated[int, Field(ge=-(2**63), lt=2**63)]


class Member(BaseModel):
    """``user``: a member's Telegram id, the first field of every button about one member."""

    user: Id


class TmMember(CallbackData, Member, prefix="tmm"): ...


class TmRole(CallbackData, Member, prefix="tmr"):
    role: Id


class TmRemove(CallbackData, Member, prefix="tmx"): ...


class TmInvite(CallbackData, prefix="tmi"):
    role: Id  # 0: choose


class TmRevoke(CallbackData, prefix="tmv"):
    id: Id


class TmOwner(CallbackData, Member, prefix="tmo"): ...


class TmSwitch(CallbackData, prefix="tms"):
    account: Id


class TmLeave(CallbackData, prefix="tml"): ...


class TmList(CallbackData, prefix="tmb"): ...


class TmGroup(CallbackData, prefix="tmg"): ...


class AuPage(CallbackData, prefix="au"):
    before: Id
