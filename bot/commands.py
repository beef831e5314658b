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
    ("menu", N_("Home: every job on buttons")),
    ("help", N_("Commands by job")),
    ("login", N_("Connect your SMSC account")),
    ("balance", N_("Balance of your SMSC account")),
    ("black", N_("Block a number, or show the black list")),
    ("unblack", N_("Remove a number from the black list")),
    ("contacts", N_("Find contacts by name or number")),
    ("addcontact", N_("Save a phone number as a contact")),
    ("groups", N_("Contact groups: create, rename, delete")),
    ("senders", N_("Sender names: status, add, confirm, delete")),
    ("templates", N_("Message templates: add, edit, delete")),
    ("subclients", N_("Subclients: create, change, top up")),
    ("stats", N_("Messages and spend: yours and your subclients'")),
    ("notify", N_("Alerts: low balance, sender names, digest")),
    ("history", N_("What was sent to a phone number")),
    ("team", N_("Your team: members, roles, invitations")),
    ("link", N_("Link a group chat to your team's account")),
    ("audit", N_("Who changed what, latest first")),
    ("lang", N_("Language: English or Russian")),
    ("cancel", N_("Stop what you are doing now")),
    ("logout", N_("Leave the team, or disconnect the account")),
    ("start", N_("What this bot does and where to begin")),
)

_BY_NAME = dict(COMMANDS)

# /help: the same commands grouped by job (a title, then its commands).
HELP_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = tuple(
    (title, tuple((name, _BY_NAME[name]) for name in names))
    for title, names in (
        (N_("Start"), ("menu", "start", "login", "balance")),
        (N_("Black list"), ("black", "unblack")),
        (N_("Contacts"), ("contacts", "addcontact", "groups")),
        (N_("Sending"), ("senders", "templates")),
        (N_("Statistics"), ("stats", "history")),
        (N_("Subclients"), ("subclients",)),
        (N_("Team"), ("team", "link", "audit")),
        (N_("Settings"), ("lang", "cancel", "logout", "help")),
    )
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
