"""What nothing else handled: retry buttons, stale buttons, unknown commands, stray text.

Its router goes last, so every feature router had its chance first.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.errors import RETRY_PREFIX
from bot.services.subclients import Resellers
from bot.ui import ANSWER_AFTER, chat_of, delete_secret, message_of, send_to_chat
from handlers.common import home_row
from handlers.start import home_view

router = Router(name="fallback")


@router.callback_query(F.data.startswith(RETRY_PREFIX))
async def retry_command(query: CallbackQuery, bot: Bot, dispatcher: Dispatcher) -> None:
    """Replays the command that failed, as if the user had sent it again."""
    message = message_of(query)
    if message is None or query.data is None:
        return
    replay = message.model_copy(
        update={"text": query.data.removeprefix(RETRY_PREFIX), "from_user": query.from_user}
    )
    await dispatcher.feed_update(bot, Update(update_id=0, message=replay))


@router.callback_query(F.data == "noop")
async def inert_button(query: CallbackQuery) -> None:
    """Labels inside keyboards (such as a page number) do nothing when tapped."""


@router.callback_query(flags=ANSWER_AFTER)
async def stale_button(
    query: CallbackQuery,
    accounts: AccountService,
    resellers: Resellers,
    callback_answer: CallbackAnswer,
) -> None:
    callback_answer.text = _("This menu is out of date.")
    _home, markup = await home_view(chat_of(query), query.from_user.id, accounts, resellers)
    await send_to_chat(query, _("This menu is out of date. Here is a fresh one:"), markup)


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, accounts: AccountService) -> None:
    if await accounts.repo.get(message.chat.id) is None:
        await message.answer(_("First connect your SMSC account: send /login."))
    else:
        await message.answer(_("I do not know this command. /help lists what I can do."))


@router.message()
async def stray_message(message: Message, accounts: AccountService) -> None:
    # Only here, where no step took the message: a step may take the same text on purpose.
    if await accounts.holds_saved_secret(message.chat.id, message.text or message.caption or ""):
        if await delete_secret(message):
            await message.answer(
                _(
                    "I deleted your message: it held your saved SMSC password or API key. "
                    "Nothing was sent to SMSC."
                ),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[home_row()]),
            )
        return
    await message.answer(
        _("Send a command to begin: /help lists them."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[home_row()]),
    )
