"""What the bot knows of one phone number: its black-list entry and its contact, read together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.services.blacklist import BlackList
from bot.services.phonebook import PhoneBook
from bot.smsc.models import BlackEntry, Contact


@dataclass(frozen=True)
class NumberFacts:
    digits: str
    black: BlackEntry | None
    contact: Contact | None


async def look_up(black: BlackList, book: PhoneBook, digits: str) -> NumberFacts:
    """The number's entry in the black list and its contact (both reads at once)."""
    entry, contact = await asyncio.gather(black.find(digits), book.contact(digits))
    return NumberFacts(digits, entry, contact)
