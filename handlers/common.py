"""Button data one feature shows and another takes: a way in to a feature from outside it.

Feature packages never import each other; the few buttons that cross between them are here.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class BlAdd(CallbackData, prefix="bla"):
    """Block number ``p`` (digits) with type "all messages" (handlers.blacklist takes it)."""

    p: str


class CtPage(CallbackData, prefix="ctp"):
    """A page of contacts (handlers.contacts takes it): ``d`` "n" lists int_ids after ``at``,
    "p" the page just before int_id ``at``; "o" starts at position ``at`` of one read, for answers
    without an ``int_id``. ``g`` is a group, ``q`` a search."""

    d: str
    at: int
    g: int = 0
    q: str = ""


class HiPage(CallbackData, prefix="hip"):
    """What was sent to number ``p`` (digits), newest first (handlers.stats takes it): a contact's
    card and a number's card show it."""

    p: str
