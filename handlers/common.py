"""Button data one feature shows and another takes: a way in to a feature from outside it.

Feature packages never import each other; the few buttons that cross between them are here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel

from bot.commands import N_
from bot.ui import esc, keyboard, page_of

T = TypeVar("T")

# Fields that recur in button data. A button takes one by inheriting it after CallbackData (which
# gives the prefix); pydantic puts inherited fields before the class's own, the order they are
# packed in, so only a button whose stored fields start with these inherits them
# (tests/test_button_data.py holds every packed form).


class Number(BaseModel):
    """``p``: a phone number, as digits."""

    p: str


class Paged(BaseModel):
    page: int = 0


class ById(BaseModel):
    id: int


class ByRef(BaseModel):
    """``ref``: a subclient's login, or a reference to it when the login is too long."""

    ref: str


class Choice(BaseModel):
    """``a``: which of a screen's buttons."""

    a: str


class BlAdd(CallbackData, Number, prefix="bla"):
    """Block number ``p`` (digits) with type "all messages" (handlers.blacklist takes it)."""


class CtPage(CallbackData, prefix="ctp"):
    """A page of contacts (handlers.contacts takes it): ``d`` "n" lists int_ids after ``at``,
    "p" the page just before int_id ``at``; "o" starts at position ``at`` of one read, for answers
    without an ``int_id``. ``g`` is a group, ``q`` a search."""

    d: str
    at: int
    g: int = 0
    q: str = ""


class CtCard(CallbackData, Number, prefix="ctc"):
    """The contact card of number ``p`` (handlers.contacts takes it; the number card shows it)."""


class CtNew(CallbackData, Number, prefix="ctn"):
    """Save number ``p`` as a new contact: the name is asked next (handlers.contacts takes it)."""


class Menu(CallbackData, prefix="m"):
    """A home-screen button: ``action`` is the job (a feature takes its own; "home" the screen)."""

    action: str


class Nc(CallbackData, Choice, prefix="nc"):
    """The number card of ``p`` (handlers.number): ``a`` "o" opens it again, "b" blocks with type
    ``t``, "u" asks to unblock."""

    p: str
    t: int = 0


# The jobs of the home screen, in the order shown: (Menu action, label). A new job adds one line,
# and its feature takes Menu(action=...). "subclients" is shown only to resellers (handlers.start).
HOME_JOBS: tuple[tuple[str, str], ...] = (
    ("balance", N_("💰 Balance")),
    ("black", N_("⛔ Black list")),
    ("contacts", N_("👤 Contacts")),
    ("stats", N_("📊 Statistics")),
    ("senders", N_("✉ Sender names")),
    ("templates", N_("📝 Templates")),
    ("subclients", N_("👥 Subclients")),
    ("notify", N_("🔔 Notifications")),
    ("team", N_("🤝 Team")),
)


def home_button() -> InlineKeyboardButton:
    """The way back home, on every screen."""
    return InlineKeyboardButton(text=_("⬅ Menu"), callback_data=Menu(action="home").pack())


def home_row() -> list[InlineKeyboardButton]:
    return [home_button()]


def with_home(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup:
    """``markup`` with the home button as its last row."""
    rows = list(markup.inline_keyboard) if markup is not None else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, home_row()])


# Items a page of a list shown whole from memory (sender names, templates, subclients).
LIST_PAGE: Final = 20


def list_screen(
    items: Sequence[T],
    number: int,
    *,
    title: str,
    line: Callable[[T], tuple[str, str]],
    button: Callable[[T], InlineKeyboardButton],
    empty: str,
    at: Callable[[int], CallbackData],
    add: InlineKeyboardButton,
) -> tuple[str, InlineKeyboardMarkup]:
    """Page ``number`` of a feature's list: ``title`` and a line an item, "name — detail" from
    ``line`` (``empty`` for an empty list), a ``button`` an item two a row, the pager (``at`` a
    page's button data), ``add`` and the way home."""
    page = page_of(items, number, LIST_PAGE)
    lines = [f"{esc(name)} — {esc(detail)}" for name, detail in map(line, page.items)]
    text = "\n".join([title, *lines]) if items else empty
    markup = keyboard([button(item) for item in page.items], 2, *page.pager(at), [add], home_row())
    return text, markup


class HiPage(CallbackData, Number, prefix="hip"):
    """What was sent to number ``p`` (digits), newest first (handlers.stats takes it): a contact's
    card and a number's card show it."""
