"""A local Telegram Bot API server for end-to-end tests, plus simulated users.

The bot under test talks HTTP to this server exactly as it would to api.telegram.org (aiogram's
``AiohttpSession`` pointed here with ``TelegramAPIServer.from_base``), so the whole stack runs:
polling, middlewares, handlers, serialisation, error handling. Tests play users through
:class:`FakeUser` and look at each chat's screen through :class:`Chat`.

Everything that waits is event-driven: every state change bumps one ``asyncio.Event``, and every
waiter re-checks its predicate on the bump. Nothing here sleeps to poll. The only timers are
the long-poll timeout of ``getUpdates`` (as Telegram has) and the timeouts of expectations,
which turn into readable ``AssertionError`` messages.

Fidelity notes, i.e. where this server is stricter or simpler than Telegram:

* HTML ``parse_mode`` is parsed the way tdlib parses it (same tags, entity rules and error
  texts), the visible text and UTF-16 entity offsets are computed. Markdown modes are accepted
  but not parsed: the text is stored as sent.
* ``allowed_updates`` filters updates when they are created, as Telegram does; dropped updates
  are listed in :attr:`FakeTelegram.dropped_updates`.
* Files are kept in memory; a ``document`` given as an HTTP URL is refused (no network here).
* Each simulated user has a private chat whose id equals the user id; :meth:`FakeTelegram.in_group`
  puts a user in a group chat (a negative id) as well. The bot may delete any message in a group,
  as an administrator can.
"""

from tests.support.botapi.errors import CONFLICT_WEBHOOK, BotApiError
from tests.support.botapi.html import parse_html, utf16_len
from tests.support.botapi.model import (
    Button,
    CallbackAnswer,
    Chat,
    ChatEvent,
    FileView,
    MessageView,
    RecordedRequest,
)
from tests.support.botapi.server import FakeTelegram
from tests.support.botapi.user import FakeUser

__all__ = [
    "CONFLICT_WEBHOOK",
    "BotApiError",
    "Button",
    "CallbackAnswer",
    "Chat",
    "ChatEvent",
    "FakeTelegram",
    "FakeUser",
    "FileView",
    "MessageView",
    "RecordedRequest",
    "parse_html",
    "utf16_len",
]
