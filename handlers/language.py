"""/lang: the chat's language, chosen with buttons and kept across restarts and /cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGES, LanguagePrefs
from bot.ui import chat_of, show_in_place
from handlers.common import Menu, home_row, with_home

router = Router(name="language")


class Lang(CallbackData, prefix="lang"):
    code: str


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=name, callback_data=Lang(code=code).pack())
                for code, name in LANGUAGES.items()
            ]
        ]
    )


@router.message(Command("lang"))
async def cmd_lang(message: Message) -> None:
    await message.answer(_("Choose the language:"), reply_markup=language_keyboard())


@router.callback_query(Menu.filter(F.action == "lang"))
async def menu_lang(query: CallbackQuery) -> None:
    await show_in_place(query, _("Choose the language:"), with_home(language_keyboard()))


@router.callback_query(Lang.filter(F.code.in_(LANGUAGES)))
async def chose_language(
    query: CallbackQuery, callback_data: Lang, language_prefs: LanguagePrefs, i18n: I18n
) -> None:
    await language_prefs.set(chat_of(query), callback_data.code)
    # The rest of this update already speaks the new language.
    i18n.current_locale = callback_data.code
    await show_in_place(
        query,
        _("Done: I will speak English with you."),
        InlineKeyboardMarkup(inline_keyboard=[home_row()]),
    )
