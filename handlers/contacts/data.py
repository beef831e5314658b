"""What /contacts and /addcontact keep in the wild: conversation states and button data.

The class names of the states are stored in FSM rows and the prefixes and fields of the button
data in messages already sent: neither may change.
"""

from __future__ import annotations

from typing import Final

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from handlers.common import Choice, Number
from handlers.common import CtCard as CtCard  # re-exported: the feature's own buttons
from handlers.common import CtNew as CtNew
from handlers.common import CtPage as CtPage

PAGE_SIZE: Final = 8
FIELD_LIMIT: Final = 500
# A button label on a phone, at most.
BUTTON_TEXT: Final = 24
# Telegram allows 100 buttons a keyboard; the rest of the keyboard needs a few.
MAX_GROUP_BUTTONS: Final = 90
MARK: Final = "✓ "


class AddContact(StatesGroup):
    phone = State()
    name = State()
    groups = State()
    new_group = State()


class EditContact(StatesGroup):
    name = State()
    phone = State()


class ContactSearch(StatesGroup):
    query = State()


class CtAct(CallbackData, Choice, prefix="cta"):
    """A card button: ``a`` is rn (rename), ph (change number), gr (groups) or del (delete)."""

    p: str


class CtGrp(CallbackData, Number, prefix="ctg"):
    """Put the contact with number ``p`` into, or out of, group ``g`` (``m``: a MoveMode)."""

    g: int
    m: int


class CtGrpView(CallbackData, Number, prefix="ctv"):
    move: bool


class CtWiz(CallbackData, Choice, prefix="ctw"):
    """/addcontact buttons: ``a`` is t (toggle group ``g``), none, new, save or skip."""

    g: int = 0


class CtMenu(CallbackData, Choice, prefix="ctm"): ...
