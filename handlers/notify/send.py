"""How a queued notification reaches its chat: rendered in the chat's language, sent through
the bot's session (whose RetryAfterMiddleware waits out short flood control), and the outcome
told to the queue."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n

from bot.i18n import DEFAULT_LOCALE, LanguagePrefs
from bot.services.outbox import Delivery, Result, Send
from bot.storage.notify import NotifyRepo
from handlers.notify.views import open_markup, render


def make_send(bot: Bot, i18n: I18n, prefs: LanguagePrefs, repo: NotifyRepo) -> Send:
    # The digest's chart (bot.services.stats, issue 14) goes here: for payload["kind"] ==
    # "digest", draw it from payload["start"] / payload["end"] and send it before the text.
    async def send(chat_id: int, payload: dict[str, Any]) -> Result:
        language = await prefs.get(chat_id) or await repo.get_language(chat_id)
        if language not in i18n.available_locales:
            language = DEFAULT_LOCALE
        with i18n.context(), i18n.use_locale(language):
            text, markup = render(payload), open_markup()
        try:
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

    return send
