"""/notify: what the bot tells a chat without being asked about its SMSC account (the balance
running low, sender names changing status at an operator, a digest of what was spent).

``data`` holds the state and button data, ``views`` the texts, keyboards and the notifications'
texts, ``handlers`` the command and its buttons, ``send`` how a queued notification reaches a
chat. The polling and the queue are in ``bot.services.notify`` and ``bot.services.outbox``.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter

from bot.ui import expected_text, not_command
from handlers.notify import handlers
from handlers.notify.data import NotifyForm

# Anything else inside the conversation: tried after every other handler of the feature.
rest = Router(name="notify.rest")
rest.message(StateFilter(NotifyForm), not_command)(expected_text)

router = Router(name="notify")
router.include_routers(handlers.router, rest)
