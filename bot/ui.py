"""UI pieces shared by every feature: message splitting, escaping, confirm dialogs, paging."""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Generic, TypeVar

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.accounts import DEMO_SITE
from bot.errors import explain, secret_taken
from bot.i18n import fmt_money, fmt_number
from bot.phones import Phone, parse_shared
from bot.smsc import SmscError
from bot.text import TEXT_LIMIT, units_prefix, utf16_len

MESSAGE_LIMIT = TEXT_LIMIT
# Every button is answered before its handler runs (aiogram's CallbackAnswerMiddleware with
# pre=True, see bot/app.py), so the spinner stops before a slow SMSC call. A handler that answers
# with a text of its own takes these flags and sets ``callback_answer.text``.
ANSWER_AFTER: Final[dict[str, Any]] = {"callback_answer": {"pre": False}}


def esc(value: Any) -> str:
    """Escape a value from a user or SMSC for HTML parse mode."""
    return html.escape(str(value), quote=False)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at line breaks into parts under ``limit`` UTF-16 units; a longer line is cut hard.

    A hard cut never falls inside an HTML entity such as ``&amp;``.
    """
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            cut = units_prefix(line, limit)
            amp = line.rfind("&", 0, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def user_id_of(event: Message | CallbackQuery) -> int | None:
    """Who sent a message or pressed a button, for the audit log."""
    return event.from_user.id if event.from_user else None


async def show_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message under the button; a message too old to edit gets a fresh one instead."""
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
    elif message is not None and query.bot is not None:
        await query.bot.send_message(message.chat.id, text, reply_markup=markup)


# Filter for conversation steps that take text: a command goes on to its own handler, even mid-way.
NOT_COMMAND: Final = F.text & ~F.text.startswith("/")


def not_command(message: Message) -> bool:
    """Filter for conversation steps that take any message: a command goes on to its handler."""
    return not (message.text or "").startswith("/")


def chat_of(event: CallbackQuery | Message) -> int:
    """The chat of a message, or the chat a button was pressed in (its own user's chat when the
    message is gone)."""
    if isinstance(event, Message):
        return event.chat.id
    return event.message.chat.id if event.message is not None else event.from_user.id


async def answer_or_show(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """A screen a command and a button both open: the command's answer, or in place of the
    message under the button (home)."""
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
    else:
        await show_in_place(event, text, markup)


async def send_to_chat(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A new message in the chat of the button; the message under the button stays as it is."""
    if query.bot is not None:
        await query.bot.send_message(chat_of(query), text, reply_markup=markup)


def message_of(query: CallbackQuery) -> Message | None:
    """The message under the button (None when it is too old for Telegram to show it)."""
    return query.message if isinstance(query.message, Message) else None


def markup_of(query: CallbackQuery) -> InlineKeyboardMarkup | None:
    """The keyboard of the message under the button (None when the message is too old to see)."""
    message = message_of(query)
    return message.reply_markup if message is not None else None


def button(text: str, data: CallbackData | str) -> InlineKeyboardButton:
    """One inline button; ``data`` is packed when it is button data."""
    packed = data if isinstance(data, str) else data.pack()
    return InlineKeyboardButton(text=text, callback_data=packed)


class Cf(CallbackData, prefix="cf"):
    """Yes/no on a confirmation: only the id of its server-side record (bot.services)."""

    id: str
    yes: bool


def confirm_keyboard(
    record_id: str, yes: str | None = None, no: str | None = None
) -> InlineKeyboardMarkup:
    """Yes and No for a confirmation record; labels of at most 24 characters, two in a row."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=yes or _("Yes"), callback_data=Cf(id=record_id, yes=True).pack()
                ),
                InlineKeyboardButton(
                    text=no or _("No"), callback_data=Cf(id=record_id, yes=False).pack()
                ),
            ]
        ]
    )


def rows(
    buttons: Iterable[InlineKeyboardButton], width: int = 2
) -> list[list[InlineKeyboardButton]]:
    """Lay buttons out ``width`` to a row."""
    result: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        if not result or len(result[-1]) >= width:
            result.append([])
        result[-1].append(button)
    return result


# A phone shows three buttons a row only while each label is this short; longer, two.
SHORT_LABEL: Final = 13


def phone_width(buttons: Iterable[InlineKeyboardButton]) -> int:
    """Three to a row when every label is short, else two (the phone-width rule)."""
    return 3 if all(len(b.text) <= SHORT_LABEL for b in buttons) else 2


def keyboard(
    buttons: Sequence[InlineKeyboardButton], width: int = 2, *extra_rows: list[InlineKeyboardButton]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[*rows(buttons, width), *extra_rows])


def pager_row(
    previous: CallbackData | None, following: CallbackData | None, label: str = ""
) -> list[InlineKeyboardButton]:
    """A ◀ / ▶ row for a list edited in place; a missing side is left out."""
    row: list[InlineKeyboardButton] = []
    if previous is not None:
        row.append(InlineKeyboardButton(text="◀ " + _("Previous"), callback_data=previous.pack()))
    if label:
        row.append(InlineKeyboardButton(text=label, callback_data="noop"))
    if following is not None:
        row.append(InlineKeyboardButton(text=_("Next") + " ▶", callback_data=following.pack()))
    return row


# -- pieces the feature packages share ------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list shown whole from memory: its items, its number and how many there are."""

    items: Sequence[T]
    number: int
    count: int

    def pager(self, at: Callable[[int], CallbackData]) -> list[list[InlineKeyboardButton]]:
        """The ◀ n/N ▶ row, or no row for a list of one page; ``at`` makes a page's button."""
        if self.count <= 1:
            return []
        previous = at(self.number - 1) if self.number > 0 else None
        following = at(self.number + 1) if self.number < self.count - 1 else None
        return [pager_row(previous, following, f"{self.number + 1}/{self.count}")]


def page_of(items: Sequence[T], number: int, size: int) -> Page[T]:
    """Page ``number`` of ``items``, ``size`` a page; out of range: the nearest page."""
    count = max(1, -(-len(items) // size))
    number = min(max(number, 0), count - 1)
    return Page(items[number * size : (number + 1) * size], number, count)


async def ask(
    query: CallbackQuery,
    state: FSMContext,
    step: State,
    prompt: str,
    *,
    reply: bool = False,
    **data: Any,
) -> None:
    """Begin a conversation step from a button: a fresh state holding ``data``, and the question.

    The question is a new message; with ``reply`` it answers the message under the button, so
    the card above shows what the answer is for.
    """
    await state.clear()
    await state.set_state(step)
    if data:
        await state.update_data(**data)
    if reply and isinstance(query.message, Message):
        await query.message.reply(prompt)
    elif query.bot is not None:
        await query.bot.send_message(chat_of(query), prompt)


async def shared_phone(
    message: Message, region: str, invalid: Callable[[str], str]
) -> Phone | None:
    """The number of the contact ``message`` shares, read in ``region``; when it is not a valid
    number, None, and the answer ``invalid`` makes of it."""
    assert message.contact is not None
    phone = parse_shared(message.contact.phone_number, region)
    if phone is None:
        await message.answer(invalid(message.contact.phone_number))
    return phone


async def refused(
    message: Message,
    state: FSMContext,
    exc: SmscError,
    again: str,
    *,
    codes: Collection[int] = (3,),
    instead: str,
    step: State | None = None,
    way_on: InlineKeyboardMarkup | None = None,
    **keep: Any,
) -> None:
    """SMSC refused what was typed. With one of ``codes``, ``instead`` is said (under ``way_on``)
    and the conversation goes back to ``step`` keeping ``keep`` (no step: it ends); any other
    refusal is explained and the same step waits for the answer ``again`` asks for."""
    if exc.code not in codes:
        await message.answer(explain(exc) + "\n" + again)
        return
    if step is None:
        await state.clear()
    else:
        if keep:
            await state.update_data(**keep)
        await state.set_state(step)
    await message.answer(instead, reply_markup=way_on)


def first_line(query: CallbackQuery) -> str:
    """The first line of the message under a button (a card's title), as HTML."""
    text = query.message.html_text if isinstance(query.message, Message) else ""
    return text.split("\n", 1)[0]


async def expected_text(message: Message) -> None:
    """A conversation step that takes text got something else (a photo, a sticker)."""
    await message.answer(_("Please send it as a text message, or /cancel."))


async def expected_button(message: Message) -> None:
    """A conversation step that takes a button got a message."""
    await message.answer(_("Please choose with the buttons above, or send /cancel."))


async def delete_secret(message: Message, not_deleted: str | None = None) -> bool:
    """Delete a message carrying a secret (and keep its text off any "Try again" button); when
    it cannot be deleted, say so (``not_deleted``, else a plea to delete it) and give False."""
    secret_taken()
    try:
        await message.delete()
    except TelegramBadRequest:
        await message.answer(
            not_deleted
            or _("I could not delete your message with the secret. Please delete it yourself.")
        )
        return False
    return True


@dataclass
class Totals:
    """Messages, money spent and money credited, summed (statistics, a subclient's card)."""

    sms: int = 0
    spent: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)

    def add(self, sms: int, spent: Decimal, credited: Decimal) -> None:
        self.sms += sms
        self.spent += spent
        self.credited += credited


def messages_text(count: int) -> str:
    return ngettext("{n} message", "{n} messages", count).format(n=fmt_number(count))


def amounts_text(totals: Totals, currency: str, *, every_part: bool = True) -> str:
    """Messages, money spent and money credited; without ``every_part`` zeros are left out."""
    parts = []
    if every_part or totals.sms:
        parts.append(messages_text(totals.sms))
    if every_part or totals.spent:
        parts.append(_("spent {amount}").format(amount=fmt_money(totals.spent, currency)))
    if every_part or totals.credited:
        parts.append(_("credited {amount}").format(amount=fmt_money(totals.credited, currency)))
    return ", ".join(parts) or messages_text(0)


class StAsk(CallbackData, prefix="sta"):
    """Statistics' period buttons again, for every subclient (``ref`` empty) or one.

    Here because a subclient's card shows it too.
    """

    ref: str = ""


def account_text(login: str | None, site: str) -> str:
    """How the chat logged in, to end "Logged in …": as a login on its site, with an API key,
    or to the demo account."""
    if site == DEMO_SITE:
        return _("to the demo account")
    if login:
        return _("as <b>{login}</b> on {site}").format(login=esc(login), site=esc(site))
    return _("with an API key on {site}").format(site=esc(site))
