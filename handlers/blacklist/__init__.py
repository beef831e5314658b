"""/black and /unblack: block a number in one message, many from a list or a file, and the list.

Every button carries the number or page boundary it acts on, so it keeps working after a restart.
``data`` holds the states and button data, ``views`` the texts and keyboards, ``one`` a single
number, ``browse`` the list and search, ``bulk`` lists and files. The list as last read, pages
and the bulk engine are ``bot.services.blacklist``'s, handed in as ``black``.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.accounts import RoleTooLow
from bot.middlewares import ACCOUNT_FLAG
from bot.services.teams import Role
from bot.ui import expected_text, not_command
from handlers.blacklist import browse, bulk, one
from handlers.blacklist.data import (
    BlackAdd,
    BlackRemove,
    BlackSearch,
    BlAdd,
    BlDel,
    BlMenu,
    BlPage,
    BlType,
    BlUndo,
)

# Read by ``bulk`` at each use, so a test may lower them here. Edits of the bulk progress message
# are this many seconds apart at least (Telegram's flood control punishes faster edits).
PROGRESS_INTERVAL = 2.0
# Numbers taken from one list or file; the rest are counted as left out.
MAX_BULK = 10_000

__all__ = [
    "MAX_BULK",
    "PROGRESS_INTERVAL",
    "BlAdd",
    "BlDel",
    "BlMenu",
    "BlPage",
    "BlType",
    "BlUndo",
    "BlackAdd",
    "BlackRemove",
    "BlackSearch",
    "router",
]

# Anything else inside the conversations: tried after every other handler of the feature.
rest = Router(name="blacklist.rest")
rest.message(StateFilter(BlackAdd.numbers, BlackSearch.query, BlackRemove.number), not_command)(
    expected_text
)

router = Router(name="blacklist")
router.include_routers(one.router, browse.router, bulk.router, rest)


@router.message(Command("black"), flags={ACCOUNT_FLAG: True})
async def cmd_black(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    bot: Bot,
    role: Role,
    **data: Any,
) -> None:
    if (message.document is not None or command.args) and role < Role.OPERATOR:
        # /black alone shows the list; with numbers it blocks them.
        raise RoleTooLow(Role.OPERATOR, role)
    await state.clear()
    if message.document is not None:
        await bulk.take_file(message, state, bot, **data)
        return
    editor = one.Editor.of(message, data)
    if command.args:
        await bulk.take_numbers(message, state, editor, command.args)
    else:
        body, markup = await browse.render_list(editor.black, editor.region, BlPage(d="n", at=0))
        await message.answer(body, reply_markup=markup)
