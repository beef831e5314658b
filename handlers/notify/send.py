"""How a queued notification reaches its chat: rendered in the chat's language, sent through
the bot's session (whose RetryAfterMiddleware waits out short flood control), and the outcome
told to the queue. A digest goes as a photo of its chart with the text as the caption; when the
chart cannot be drawn or Telegram refuses the photo, as the text alone."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import DEFAULT_LOCALE, LanguagePrefs
from bot.services import stats
from bot.services.outbox import Delivery, Fresh, Prepare, Result, Send
from bot.storage.notify import NotifyRepo
from bot.text import CAPTION_LIMIT, utf16_len
from handlers.notify.views import open_markup, render

log = logging.getLogger(__name__)

# Charts kept for the next chat with the same figures and language.
DRAWN: Final = 32


def digest_trend(payload: dict[str, Any]) -> stats.Trend | None:
    """The digest's days as a trend to draw, or None (no days: queued before charts)."""
    if payload.get("kind") != "digest":
        return None
    figures = payload.get("figures") or {}
    currency = str(figures.get("currency", ""))
    days = figures.get("days") or []
    points = tuple(
        stats.Figures(date.fromisoformat(day), int(sms), Decimal(str(spent)), Decimal(0), currency)
        for day, sms, spent in days
    )
    return stats.Trend("day", points, 0) if points else None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A notification ready to go: its text, its button, a digest's chart, and the language it is
    in (a chat may change it between a digest prepared ahead and its send)."""

    text: str
    markup: InlineKeyboardMarkup
    png: bytes | None
    language: str


def make_send(
    bot: Bot, i18n: I18n, prefs: LanguagePrefs, repo: NotifyRepo
) -> tuple[Prepare, Send, Fresh]:
    """The outbox's steps: render (not paced), send (paced), and whether a rendering made ahead
    still holds."""
    # Every chat following one account gets the same chart: drawn once per language (one chart
    # takes the charts thread ~85 ms, docs/benchmarks.md), also when its chats' sends are in
    # flight together, so what is kept is the drawing, finished or not.
    drawn: OrderedDict[tuple[str, str], asyncio.Task[bytes | None]] = OrderedDict()

    async def draw(trend: stats.Trend, language: str) -> bytes | None:
        try:
            return await stats.trend_chart(trend, locale=language, translate=_)
        except Exception:
            # The text still says everything; the chart is a bonus.
            log.exception("could not draw a digest's chart")
            return None

    async def chart(trend: stats.Trend, language: str) -> bytes | None:
        key = (repr((trend.points, trend.currency)), language)
        task = drawn.get(key)
        if task is None:
            # The task inherits the context: the translations of the chat's language.
            task = drawn[key] = asyncio.ensure_future(draw(trend, language))
            if len(drawn) > DRAWN:
                drawn.popitem(last=False)
        drawn.move_to_end(key)
        # Shielded: one chat's send cancelled (a stop) does not cancel the others' drawing.
        return await asyncio.shield(task)

    async def language_of(chat_id: int) -> str:
        language = await prefs.get(chat_id) or await repo.get_language(chat_id)
        return language if language in i18n.available_locales else DEFAULT_LOCALE

    async def prepare(chat_id: int, payload: dict[str, Any]) -> Rendered:
        language = await language_of(chat_id)
        png = None
        with i18n.context(), i18n.use_locale(language):
            text, markup = render(payload), open_markup()
            trend = digest_trend(payload)
            if trend is not None and utf16_len(text) <= CAPTION_LIMIT:
                png = await chart(trend, language)
        return Rendered(text, markup, png, language)

    async def fresh(chat_id: int, rendered: Rendered) -> bool:
        return rendered.language == await language_of(chat_id)

    async def send(chat_id: int, rendered: Rendered) -> Result:
        text, markup, png = rendered.text, rendered.markup, rendered.png
        try:
            if png is not None:
                try:
                    await bot.send_photo(
                        chat_id,
                        BufferedInputFile(png, "digest.png"),
                        caption=text,
                        reply_markup=markup,
                    )
                    return Result(Delivery.SENT)
                except TelegramBadRequest as exc:
                    if "chat not found" in exc.message.lower():
                        raise
                    log.warning("a digest's chart was refused (%s); sent as text", exc.message)
            await bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramForbiddenError:
            return Result(Delivery.BLOCKED)
        except TelegramRetryAfter as exc:
            # Longer than the session middleware waits: the queue holds everything that long.
            return Result(Delivery.RETRY, float(exc.retry_after))
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                return Result(Delivery.BLOCKED)
            return Result(Delivery.FAILED)
        except (TelegramNetworkError, TelegramServerError):
            return Result(Delivery.RETRY)
        return Result(Delivery.SENT)

    return prepare, send, fresh
