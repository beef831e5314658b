"""The list of templates and a template's card with its full text."""

from __future__ import annotations

import time
from typing import Any, Final

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ACCOUNT_FLAG
from bot.smsc import SmscClient
from bot.smsc.models import Template
from bot.ui import answer_or_show, chat_of, split_text
from bot.ui import show_in_place as show
from handlers.common import Menu
from handlers.templates.data import TpCard, TpList
from handlers.templates.views import back_markup, card_markup, card_text, list_view

router = Router(name="templates.browse")

# A change begun within this many seconds of its card uses the card's fields without a new read.
CARD_FRESH: Final = 60.0


async def find(smsc: SmscClient, template_id: int) -> Template | None:
    return next((t for t in await smsc.get_templates() if t.id == template_id), None)


async def remember(state: FSMContext, template: Template) -> None:
    """Keep the template as shown, for a change begun from its card within the minute."""
    await state.update_data(card=template.model_dump(), card_at=time.time())


def recalled(data: dict[str, Any], template_id: int) -> Template | None:
    """The template as its card showed it less than CARD_FRESH seconds ago."""
    card, shown_at = data.get("card"), data.get("card_at")
    if not isinstance(card, dict) or card.get("id") != template_id:
        return None
    if not isinstance(shown_at, float) or not 0 <= time.time() - shown_at < CARD_FRESH:
        return None
    try:
        return Template.model_validate(card)
    except ValueError:
        return None


@router.message(Command("templates"), flags={ACCOUNT_FLAG: True})
@router.callback_query(Menu.filter(F.action == "templates"), flags={ACCOUNT_FLAG: True})
async def cmd_templates(
    event: Message | CallbackQuery, state: FSMContext, smsc: SmscClient
) -> None:
    await state.clear()
    await answer_or_show(event, *list_view(await smsc.get_templates(), 0))


@router.callback_query(TpList.filter(), flags={ACCOUNT_FLAG: True})
async def list_page(query: CallbackQuery, callback_data: TpList, smsc: SmscClient) -> None:
    await show(query, *list_view(await smsc.get_templates(), callback_data.page))


@router.callback_query(TpCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery,
    callback_data: TpCard,
    smsc: SmscClient,
    state: FSMContext | None = None,
) -> None:
    template = await find(smsc, callback_data.id)
    if template is None:
        await show(query, _("This template no longer exists."), back_markup())
        return
    if state is not None:
        await remember(state, template)
    parts = split_text(card_text(template))
    # A text longer than one message: the card edits in place, the rest follows with the buttons.
    await show(query, parts[0], card_markup(template.id) if len(parts) == 1 else None)
    if len(parts) > 1 and query.bot is not None:
        for index, part in enumerate(parts[1:], start=2):
            await query.bot.send_message(
                chat_of(query),
                part,
                reply_markup=card_markup(template.id) if index == len(parts) else None,
            )
