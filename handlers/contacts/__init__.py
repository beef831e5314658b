"""/addcontact and /contacts: save a number in two taps, search, page, and edit a contact's card.

Every button carries what it acts on (the contact's number, a group id, a page boundary), so
buttons keep working after a restart; the /addcontact conversation keeps its draft in the FSM
storage (SQLite). Reads and writes happen before the conversation moves on, so an SMSC error
leaves the user at the same step, free to try again.

``data`` holds the states and button data, ``views`` the texts and keyboards, ``browse`` the
list and search, ``add`` /addcontact and shared contacts, ``card`` a contact's buttons. The
contacts and groups themselves are ``bot.services.phonebook``'s, handed in as ``book``.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter

from bot.ui import expected_button, expected_text, not_command
from handlers.contacts import add, browse, card
from handlers.contacts.data import (
    AddContact,
    ContactSearch,
    CtAct,
    CtCard,
    CtGrp,
    CtGrpView,
    CtMenu,
    CtPage,
    CtWiz,
    EditContact,
)

__all__ = [
    "AddContact",
    "ContactSearch",
    "CtAct",
    "CtCard",
    "CtGrp",
    "CtGrpView",
    "CtMenu",
    "CtPage",
    "CtWiz",
    "EditContact",
    "router",
]

# Anything else inside the conversations: tried after every other handler of the feature.
rest = Router(name="contacts.rest")
rest.message(
    StateFilter(
        AddContact.phone,
        AddContact.name,
        AddContact.new_group,
        EditContact.name,
        EditContact.phone,
        ContactSearch.query,
    ),
    not_command,
)(expected_text)

rest.message(AddContact.groups, not_command)(expected_button)


router = Router(name="contacts")
router.include_routers(browse.router, add.router, card.router, rest)
