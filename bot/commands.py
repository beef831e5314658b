"""The bot's commands: one list for /help and for the per-language command menus."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n

from bot.i18n import LANGUAGES

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark a string for the catalogs without translating it yet."""
    return message


COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("What this bot does and where to begin")),
    ("help", N_("Every command, one line each")),
    ("login", N_("Connect your SMSC account")),
    ("balance", N_("Balance of your SMSC account")),
    ("addcontact", N_("Save a phone number as a contact")),
    ("contacts", N_("Find contacts by name or number")),
    ("groups", N_("Contact groups: create, rename, delete")),
    ("black", N_("Block a number, or show the black list")),
    ("unblack", N_("Remove a number from the black list")),
    ("senders", N_("Sender names: status, add, confirm, delete")),
    ("templates", N_("Message templates: add, edit, delete")),
    ("subclients", N_("Subclients: create, change, top up")),
    ("stats", N_("Messages and spend: yours and your subclients'")),
    ("history", N_("What was sent to a phone number")),
    ("team", N_("Your team: members, roles, invitations")),
    ("link", N_("Link a group chat to your team's account")),
    ("audit", N_("Who changed what, latest first")),
    ("lang", N_("Language: English or Russian")),
    ("cancel", N_("Leave the current conversation")),
    ("logout", N_("Leave the team, or disconnect the account")),
)


async def set_command_menus(bot: Bot, i18n: I18n) -> None:
    """One command menu per language; a failure is logged, never fatal."""
    for lang in LANGUAGES:
        commands = [
            BotCommand(command=name, description=i18n.gettext(text, locale=lang))
            for name, text in COMMANDS
        ]
        try:
            await bot.set_my_commands(commands, language_code=lang)
            if lang == "en":
                await bot.set_my_commands(commands)
        except Exception:
            log.warning("could not set the %s command menu", lang, exc_info=True)
