"""/history <number> and the "what was sent" button of a contact's (or a number's) card: the
messages sent to the number in the last six months, newest first, a page at a time, paged back
with SMSC's prev_id."""

from __future__ import annotations

from typing import Final

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ACCOUNT_FLAG
from bot.phones import display_stored, parse_phone
from bot.smsc import SmscClient
from bot.ui import button, chat_of, esc, show_in_place
from handlers.common import HiPage, Nc, home_button, with_home
from handlers.stats.data import HiMore
from handlers.stats.views import history_line

router = Router(name="stats.history")

# Messages on one screen: each takes three or four lines on a phone.
PAGE: Final = 10


async def history_view(
    smsc: SmscClient, digits: str, region: str, before: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of what was sent to ``digits`` before int_id ``before`` (0: the newest), with
    the way on: the number's card (to block it) and home."""
    # One more than a page: whether older messages exist, without another request. No period:
    # the client's six months up to SMSC's own now (our clock may lag SMSC's date).
    found = await smsc.get_messages(digits, cnt=PAGE + 1, prev_id=before or None)
    shown = display_stored(digits, region)
    # Forged button data holds no number: then only the way home.
    card = [button(shown + " ›", Nc(a="o", p=digits))] if digits.isdigit() else []
    way_on = [*card, home_button()]
    if not found:
        if before:
            return _("No older messages to {number} in the last six months.").format(
                number=esc(shown)
            ), InlineKeyboardMarkup(inline_keyboard=[way_on])
        return _("Nothing was sent to {number} in the last six months.").format(
            number=esc(shown)
        ), InlineKeyboardMarkup(inline_keyboard=[way_on])
    page = found[:PAGE]
    title = (
        _("<b>Sent to {number}</b>, newest first:")
        if not before
        else _("<b>Sent to {number}</b>, older messages:")
    )
    lines = [title.format(number=esc(shown)), ""]
    for message in page:
        lines.extend([history_line(message), ""])
    buttons = []
    if before:
        buttons.append(button("⏮ " + _("Newest"), HiMore(p=digits)))
    if len(found) > PAGE:
        buttons.append(button(_("Older") + " ▶", HiMore(p=digits, b=page[-1].int_id)))
    markup = InlineKeyboardMarkup(inline_keyboard=[buttons, way_on] if buttons else [way_on])
    return "\n".join(lines).rstrip(), markup


@router.message(Command("history"), flags={ACCOUNT_FLAG: True})
async def cmd_history(
    message: Message, command: CommandObject, smsc: SmscClient, region: str
) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer(
            esc(_("Send the number after the command, for example /history +7 916 123-45-67.")),
            reply_markup=with_home(None),
        )
        return
    phone = parse_phone(text, region)
    if phone is None:
        await message.answer(
            esc(
                _(
                    "This is not a phone number. Send it with the country code, "
                    "for example +7 916 123-45-67."
                )
            ),
            reply_markup=with_home(None),
        )
        return
    body, markup = await history_view(smsc, phone.digits, region, 0)
    await message.answer(body, reply_markup=markup)


@router.callback_query(HiPage.filter(), flags={ACCOUNT_FLAG: True})
async def from_card(
    query: CallbackQuery, callback_data: HiPage, smsc: SmscClient, region: str, bot: Bot
) -> None:
    # A new message: the card above stays as it was.
    body, markup = await history_view(smsc, callback_data.p, region, 0)
    await bot.send_message(chat_of(query), body, reply_markup=markup)


@router.callback_query(HiMore.filter(), flags={ACCOUNT_FLAG: True})
async def more(query: CallbackQuery, callback_data: HiMore, smsc: SmscClient, region: str) -> None:
    body, markup = await history_view(smsc, callback_data.p, region, callback_data.b)
    await show_in_place(query, body, markup)
