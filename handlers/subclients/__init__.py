"""/subclients: the list (from statistics and from what the bot created), a card with this month's
figures, creating one, new password, type or login, and topping one up.

A subclient's password is never echoed, never kept in FSM data and its message is deleted at once:
it is asked for as the last step and held only for the one SMSC call.

``data`` holds the states and button data, ``views`` the texts and keyboards; the handlers are
split by job: ``browse`` (list, card), ``create``, ``edit`` (password, login, type), ``pay``.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter

from bot.ui import expected_button, expected_text, not_command
from handlers.subclients import browse, create, edit, pay
from handlers.subclients.data import SubclientEdit, SubclientForm

# Anything else inside the conversations: tried after every other handler of the feature.
rest = Router(name="subclients.rest")
rest.message(
    StateFilter(
        SubclientForm.login,
        SubclientForm.phone,
        SubclientForm.password,
        SubclientEdit.password,
        SubclientEdit.login,
        SubclientEdit.amount,
    ),
    not_command,
)(expected_text)
rest.message(StateFilter(SubclientForm.type, SubclientForm.main_senders), not_command)(
    expected_button
)

router = Router(name="subclients")
router.include_routers(browse.router, create.router, edit.router, pay.router, rest)
