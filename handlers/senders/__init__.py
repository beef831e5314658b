"""/senders: sender names with their moderation and per-operator statuses, adding, the code that
confirms a digital name, comments and deletion.

``data`` holds the states and button data, ``views`` the texts and keyboards; the handlers are
split by job: ``browse`` (list, card), ``add``, ``edit`` (comment, deletion), ``code``.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter

from bot.ui import expected_text, not_command
from handlers.senders import add, browse, code, edit
from handlers.senders.data import SenderCode, SenderComment, SenderForm

# Anything else inside the conversations: tried after every other handler of the feature.
rest = Router(name="senders.rest")
rest.message(
    StateFilter(SenderForm.name, SenderForm.comment, SenderComment.text, SenderCode.code),
    not_command,
)(expected_text)

router = Router(name="senders")
router.include_routers(browse.router, add.router, edit.router, code.router, rest)
