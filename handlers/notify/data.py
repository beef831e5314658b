"""Conversation state and button data of /notify: stored in the wild (FSM rows, buttons already
sent), so they keep their names, prefixes and fields."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup


class NotifyForm(StatesGroup):
    threshold = State()
    time = State()
    zone = State()


class NtAction(StrEnum):
    CARD = "c"
    BALANCE = "b"  # ask for the threshold
    BALANCE_OFF = "bo"
    SENDERS = "s"  # value "1" on, "0" off
    DIGEST = "d"  # value daily / weekly: ask for the time; "off"
    TIME = "t"  # value daily / weekly, at ``minute``
    ZONES = "z"  # the list of zones
    ZONE = "zs"  # value: an IANA name
    ZONE_ASK = "zo"  # another zone, typed
    WATCH = "w"  # what the account is watched for (admins); value: a kind to stop watching
    SETTINGS = "h"  # the settings, in place


class Nt(CallbackData, prefix="nt"):
    action: NtAction
    value: str = ""
    minute: int = -1
