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

# Expectations take a timeout because it is part of what they assert (and becomes the failure
# message); asyncio.timeout around the call could not say what was expected.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

JsonDict = dict[str, Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a content and reply markup of the current message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)

# Telegram's default when allowed_updates is [] or was never given.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: CONFLICT_OTHER_POLL,
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class BotApiError(Exception):
    """An error answer, shaped like Telegram's ``{"ok": false, ...}``."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(text: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {text}")


# --------------------------------------------------------------------------------------------
# HTML parse mode, after tdlib's parse_html (td/telegram/MessageEntity.cpp)
# --------------------------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_html_entity(src: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``pos``; tdlib keeps anything it does not recognise as literal text."""
    end = src.find(";", pos + 1)
    if end == -1:
        return None
    name = src[pos + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    try:
        if name[:2] in ("#x", "#X"):
            code = int(name[2:], 16)
        elif name[:1] == "#" and name[1:].isdigit():
            code = int(name[1:])
        else:
            return None
    except ValueError:
        return None
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


def _decode_entities_in(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_html_entity(value, i)) is not None:
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the output text
    inner_language: str | None = None


def parse_html(src: str) -> tuple[str, list[JsonDict]]:
    """Turn Telegram HTML into (visible text, entities), or raise 400 "can't parse entities"."""

    def fail(reason: str) -> BotApiError:
        return _bad_request(f"can't parse entities: {reason}")

    def byte_offset(pos: int) -> int:
        return len(src[:pos].encode())

    out: list[str] = []
    out_len = 0
    stack: list[_OpenTag] = []
    entities: list[JsonDict] = []
    n = len(src)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal out_len
        out.append(chunk)
        out_len += utf16_len(chunk)

    while i < n:
        ch = src[i]
        if ch == "&" and (decoded := _decode_html_entity(src, i)) is not None:
            emit(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            emit(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and src[i] == "/":
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            start = i
            while i < n and not src[i].isspace() and src[i] != ">":
                i += 1
            end_name = src[start:i].lower()
            while i < n and src[i].isspace():
                i += 1
            if i >= n or src[i] != ">":
                raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            i += 1
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise fail(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            _close_tag(tag, stack, entities, out_len)
            continue

        start = i
        while i < n and not src[i].isspace() and src[i] != ">":
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = src[start:i].lower()
        if name not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and not src[i].isspace() and src[i] not in "=>":
                i += 1
            attr = src[attr_start:i].lower()
            if not attr:
                raise fail(
                    f'Empty attribute name in the tag "{name}" at byte offset {byte_offset(begin)}'
                )
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] != "=":
                attrs[attr] = ""
                continue
            i += 1
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] in "\"'":
                quote = src[i]
                close = src.find(quote, i + 1)
                if close == -1:
                    raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attrs[attr] = _decode_entities_in(src[i + 1 : close])
                i = close + 1
            else:
                value_start = i
                while i < n and not src[i].isspace() and src[i] != ">":
                    i += 1
                attrs[attr] = _decode_entities_in(src[value_start:i])
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"')
        stack.append(_OpenTag(name, attrs, out_len))

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    text = "".join(out)
    return _strip_with_entities(text, entities)


def _close_tag(tag: _OpenTag, stack: list[_OpenTag], entities: list[JsonDict], end: int) -> None:
    length = end - tag.offset
    if tag.name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, not two entities.
        cls = tag.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].inner_language = cls.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JsonDict = {"type": _TAG_ENTITY[tag.name], "offset": tag.offset, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.inner_language:
        entity["language"] = tag.inner_language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        if not tag.attrs.get("emoji-id"):
            return
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)


def _strip_with_entities(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Telegram trims surrounding whitespace; entities are shifted and clipped to match."""
    stripped = text.strip()
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, fixed


# --------------------------------------------------------------------------------------------
# Public views: snapshots a test can hold on to
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class FileView:
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    content: bytes = field(repr=False)
    file_path: str


@dataclass(frozen=True)
class MessageView:
    """One message as it stands at a moment (a snapshot: later edits make new views)."""

    chat_id: int
    message_id: int
    from_bot: bool
    text: str | None
    """What the user sees: for HTML, the text without tags; for documents, the caption."""
    entities: tuple[Mapping[str, Any], ...] = ()
    source: str | None = None
    """Text or caption exactly as the bot sent it (markup included)."""
    parse_mode: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: FileView | None = None
    contact: Mapping[str, Any] | None = None
    edit_count: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The Bot API ``Message`` object as the server returned or delivered it."""

    @property
    def button_texts(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    def button(self, text: str) -> Button:
        for row in self.buttons:
            for button in row:
                if button.text == text:
                    return button
        msg = f"message #{self.message_id} has no button {text!r}; buttons: {self.button_texts}"
        raise AssertionError(msg)

    def describe(self) -> str:
        who = "bot" if self.from_bot else "user"
        if self.document is not None:
            body = f"[document {self.document.file_name!r}, {len(self.document.content)} bytes]"
            if self.text:
                body += f" caption={self.text!r}"
        elif self.contact is not None:
            body = f"[contact {self.contact.get('phone_number')}]"
        else:
            body = repr(self.text)
        line = f"#{self.message_id} {who}: {body}"
        if self.buttons:
            rows = [
                " | ".join(
                    f"{b.text} → {b.callback_data!r}" if b.callback_data is not None else b.text
                    for b in row
                )
                for row in self.buttons
            ]
            line += " buttons: [" + "] [".join(rows) + "]"
        if self.edit_count:
            line += f" (edited {self.edit_count}x)"
        return line


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    message_id: int | None
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


EventKind = Literal["user_message", "message", "edit", "delete", "callback_answer", "action"]


@dataclass(frozen=True)
class ChatEvent:
    kind: EventKind
    message: MessageView | None = None
    answer: CallbackAnswer | None = None
    action: str | None = None

    def describe(self) -> str:
        if self.kind == "callback_answer" and self.answer is not None:
            a = self.answer
            return f"callback answer to {a.data!r}: text={a.text!r} show_alert={a.show_alert}"
        if self.kind == "action":
            return f"chat action {self.action!r}"
        if self.kind == "delete" and self.message is not None:
            return f"deleted {self.message.describe()}"
        assert self.message is not None
        return f"{self.kind}: {self.message.describe()}"


@dataclass
class RecordedRequest:
    """One HTTP request the bot made, kept in arrival order in :attr:`FakeTelegram.requests`."""

    index: int
    http_method: str
    method: str
    token: str
    params: JsonDict
    """Parameters with JSON-typed fields decoded (reply_markup, entities, commands, ...)."""
    body: bytes
    files: dict[str, tuple[str | None, bytes]]
    received_at: float
    status: int | None = None
    response: JsonDict | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return None if self.response is None else self.response.get("result")

    def describe(self) -> str:
        if self.status is None:
            outcome = "(in flight)"
        elif self.ok:
            outcome = "→ ok"
        else:
            assert self.response is not None
            outcome = f"→ {self.status} {self.response.get('description')}"
        return f"{self.method} {outcome}"


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    content: bytes
    file_path: str

    def view(self) -> FileView:
        return FileView(
            self.file_id,
            self.file_unique_id,
            self.file_name,
            self.mime_type,
            self.content,
            self.file_path,
        )

    def document_json(self) -> JsonDict:
        doc: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if self.file_name is not None:
            doc["file_name"] = self.file_name
        if self.mime_type is not None:
            doc["mime_type"] = self.mime_type
        return doc


@dataclass
class _QueuedUpdate:
    update_id: int
    kind: str
    payload: JsonDict
    chat_id: int | None
    deliveries: int = 0


@dataclass
class _CallbackQuery:
    chat_id: int
    message_id: int | None
    data: str | None
    answered: bool = False


@dataclass
class _Fault:
    status: int
    description: str
    parameters: JsonDict | None
    remaining: int


class Chat:
    """A chat (private, or a group) as its users see it: :attr:`messages` is the screen."""

    def __init__(self, chat_id: int, chat_json: JsonDict) -> None:
        self.id = chat_id
        self.json = chat_json
        self._messages: dict[int, MessageView] = {}
        self._next_message_id = 1
        self.events: list[ChatEvent] = []
        """Everything that happened in the chat, oldest first (user messages included)."""
        self.reply_keyboard: JsonDict | None = None
        """The reply keyboard currently shown under the input field (``ReplyKeyboardMarkup``)."""
        self.blocked = False

    @property
    def messages(self) -> list[MessageView]:
        return [self._messages[key] for key in sorted(self._messages)]

    @property
    def bot_messages(self) -> list[MessageView]:
        return [m for m in self.messages if m.from_bot]

    @property
    def user_messages(self) -> list[MessageView]:
        return [m for m in self.messages if not m.from_bot]

    @property
    def last_bot_message(self) -> MessageView | None:
        bot_messages = self.bot_messages
        return bot_messages[-1] if bot_messages else None

    def get(self, message_id: int) -> MessageView | None:
        return self._messages.get(message_id)

    def describe(self) -> str:
        lines = [f"screen of chat {self.id}:"]
        lines += [f"  {m.describe()}" for m in self.messages] or ["  (empty)"]
        if self.reply_keyboard is not None:
            lines.append(f"  reply keyboard: {self.reply_keyboard.get('keyboard')}")
        return "\n".join(lines)

    def _new_message_id(self) -> int:
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------

# Object-typed fields arrive JSON-serialised in form bodies; everything else is a plain string.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
    }
)


def _parse_multipart(body: bytes, content_type: str) -> tuple[JsonDict, dict[str, Any]]:
    """Parse multipart/form-data by hand so that the raw body stays available for recording."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _bad_request("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: JsonDict = {}
    files: dict[str, Any] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = part.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            headers[header.strip().lower()] = value.strip()
        _, disposition = parse_content_disposition(headers.get("content-disposition"))
        name = disposition.get("name")
        if name is None:
            continue
        filename = content_disposition_filename(disposition, "filename")
        if filename is not None:
            files[name] = (filename, content)
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


class _Params:
    def __init__(self, record: RecordedRequest) -> None:
        self.record = record
        self.values = record.params
        self.files = record.files

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) is not None

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _bad_request(f"wrong parameter {name} in request")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f"wrong parameter {name} in request") from None

    def require_int(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise _bad_request(f"{name} is empty")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        return self.values.get(name)


def _decode_json_fields(values: JsonDict) -> JsonDict:
    decoded = dict(values)
    for name in _JSON_FIELDS & decoded.keys():
        value = decoded[name]
        if isinstance(value, str):
            try:
                decoded[name] = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise _bad_request("can't parse reply keyboard markup JSON object") from None
                raise _bad_request(f"can't parse {name} JSON object") from None
    return decoded


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

Handler = Callable[[_Params], Awaitable[Any]]


class FakeTelegram:
    """A Telegram Bot API server on 127.0.0.1 with simulated users; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "smsc_test_bot",
        bot_first_name: str = "SMSC Test Bot",
    ) -> None:
        bot_id, sep, _ = token.partition(":")
        if not sep or not bot_id.isdigit():
            msg = f"token must look like '<bot id>:<secret>', got {token!r}"
            raise ValueError(msg)
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.requests: list[RecordedRequest] = []
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, FakeUser] = {}
        self.webhook: JsonDict | None = None
        self.dropped_updates: list[JsonDict] = []
        self.server_errors: list[str] = []
        """Tracebacks of bugs in this server; :meth:`stop` fails the test if there are any."""
        self.base_url = ""

        self._changed = asyncio.Event()
        self._queue: list[_QueuedUpdate] = []
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._held_poll: RecordedRequest | None = None
        self._closing = False
        self._faults: dict[str, list[_Fault]] = {}
        self._stubs: dict[str, Callable[[JsonDict], Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._query_counter = itertools.count(1)
        self._queries: dict[str, _CallbackQuery] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "senddocument": self._send_document,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a free port; returns the base URL for ``from_base``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Release held long polls, shut down, and fail loudly if the server itself crashed."""
        self._closing = True
        self._bump()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.server_errors:
            msg = "the fake Telegram server crashed:\n" + "\n".join(self.server_errors)
            raise AssertionError(msg)

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-facing API

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "Anna",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """The simulated user with this id (created on first call), with a private chat."""
        if user_id in self.users:
            return self.users[user_id]
        user_json: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name is not None:
            user_json["last_name"] = last_name
        if username is not None:
            user_json["username"] = username
        if language_code is not None:
            user_json["language_code"] = language_code
        chat_json = {
            key: value
            for key, value in user_json.items()
            if key in ("id", "first_name", "last_name", "username")
        }
        chat_json["type"] = "private"
        chat = Chat(user_id, chat_json)
        self.chats[user_id] = chat
        user = FakeUser(self, user_json, chat)
        self.users[user_id] = user
        return user

    def in_group(self, user: FakeUser, group_id: int = -1001, title: str = "Team") -> FakeUser:
        """``user`` writing in the group chat ``group_id`` (created on first call): what it sends
        and what it expects happen in that group rather than in the private chat."""
        chat = self.chats.get(group_id)
        if chat is None:
            chat = Chat(group_id, {"id": group_id, "type": "group", "title": title})
            self.chats[group_id] = chat
        return FakeUser(self, user.json, chat)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error instead of serving them.

        429 answers carry ``parameters.retry_after`` like Telegram's flood control.
        """
        parameters: JsonDict | None = None
        if status == 429:
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        fault = _Fault(status, description, parameters, count)
        self._faults.setdefault(method.lower(), []).append(fault)

    def stub(self, method: str, result: Any | Callable[[JsonDict], Any]) -> None:
        """Serve a method this server does not model with a fixed result (or a function of the
        decoded parameters), instead of 404."""
        self._stubs[method.lower()] = result if callable(result) else (lambda _params: result)

    def requests_for(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def requests_containing(self, needle: str | bytes) -> list[RecordedRequest]:
        """Requests whose path (token aside), body or decoded params contain ``needle``: use it to
        prove a secret never left the bot."""
        raw = needle.encode() if isinstance(needle, str) else needle
        text = raw.decode("utf-8", "replace")
        found = []
        for r in self.requests:
            params_text = json.dumps(r.params, ensure_ascii=False)
            in_files = any(raw in content for _, content in r.files.values())
            if raw in r.body or text in params_text or text in r.method or in_files:
                found.append(r)
        return found

    def commands(self, *, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def queue_update(self, kind: str, payload: JsonDict, *, chat_id: int | None = None) -> int:
        """Queue an arbitrary update (``{"update_id": ..., kind: payload}``); returns its id, or 0
        if the bot's ``allowed_updates`` excludes it (Telegram would not create it)."""
        update_id = next(self._update_ids)
        self._last_update_id = update_id
        update = {"update_id": update_id, kind: payload}
        if not self._update_allowed(kind):
            self.dropped_updates.append(update)
            self._bump()
            return 0
        self._queue.append(_QueuedUpdate(update_id, kind, update, chat_id))
        self._bump()
        return update_id

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates the bot has not confirmed yet."""
        return [u.payload for u in self._queue]

    async def drained(self, timeout: float = 10.0) -> None:
        """Return once the bot has confirmed every update queued before this call.

        Confirmation means a ``getUpdates`` arrived with an ``offset`` above the update's id.
        aiogram's polling loop (``Dispatcher._listen_updates``) raises the offset only after the
        dispatcher took the whole batch, so:

        * with ``start_polling(handle_as_tasks=False)`` each update's handler ran to completion
          (including every Bot API call it awaited) before the next ``getUpdates``: once this
          returns, whatever the bot was going to send in answer to those updates is recorded;
        * with the default ``handle_as_tasks=True`` it only proves the updates were handed to
          handler tasks, which may still be running.

        Tasks a handler spawns in the background are never covered.
        """
        target = self._last_update_id

        def done() -> bool:
            return all(u.update_id > target for u in self._queue)

        await self._wait(done, timeout, lambda: f"the bot did not confirm updates ≤ {target}")

    async def wait_for_request(
        self,
        method: str,
        *,
        where: Callable[[RecordedRequest], bool] | None = None,
        since: int | None = None,
        finished: bool = False,
        timeout: float = 10.0,
    ) -> RecordedRequest:
        """The first request of ``method`` with index ≥ ``since`` (default: requests from now on)
        matching ``where``; with ``finished`` also wait for its answer."""
        start = len(self.requests) if since is None else since
        wanted = method.lower()

        def find() -> RecordedRequest | None:
            for r in self.requests[start:]:
                if r.method.lower() != wanted or (where is not None and not where(r)):
                    continue
                if finished and not r.finished:
                    continue
                return r
            return None

        await self._wait(lambda: find() is not None, timeout, lambda: f"no {method} request")
        result = find()
        assert result is not None
        return result

    async def wait_long_poll(self, timeout: float = 10.0) -> RecordedRequest:
        """Wait until a ``getUpdates`` is being held open (the bot is idle and polling)."""
        await self._wait(
            lambda: self._held_poll is not None, timeout, lambda: "no getUpdates is held open"
        )
        assert self._held_poll is not None
        return self._held_poll

    def make_bot(self, **bot_kwargs: Any) -> Bot:
        """An aiogram ``Bot`` for this server's token that talks only to this server."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(self.token, session=session, **bot_kwargs)

    @contextlib.asynccontextmanager
    async def polling(
        self, dispatcher: Dispatcher, bot: Bot, *, timeout: float = 10.0, **polling_kwargs: Any
    ) -> AsyncIterator[asyncio.Task[None]]:
        """Run ``dispatcher.start_polling(bot, **polling_kwargs)`` for the duration of the block.

        Defaults: ``handle_signals=False`` and ``handle_as_tasks=False`` (which is what makes
        :meth:`drained` cover the handlers). Entering returns once the bot polls; leaving stops
        polling and re-raises anything the polling task died of.
        """
        polling_kwargs.setdefault("handle_signals", False)
        polling_kwargs.setdefault("handle_as_tasks", False)
        since = len(self.requests)
        task: asyncio.Task[None] = asyncio.create_task(
            dispatcher.start_polling(bot, **polling_kwargs)
        )
        polled = asyncio.create_task(
            self.wait_for_request("getUpdates", since=since, timeout=timeout)
        )
        started = False
        try:
            done, _ = await asyncio.wait({task, polled}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                await task
                msg = "polling stopped before the first getUpdates"
                raise AssertionError(msg)
            polled.result()
            started = True
            yield task
        finally:
            polled.cancel()
            if started and not task.done():
                with contextlib.suppress(RuntimeError):
                    await dispatcher.stop_polling()
                await task
            elif not task.done():
                # Stuck before polling (e.g. in a startup hook): stop_polling would wait forever.
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ---------------------------------------------------------------- internals: waiting

    def _bump(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(
        self, predicate: Callable[[], bool], timeout: float, explain: Callable[[], str]
    ) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._changed.wait()
        except TimeoutError:
            msg = f"after {timeout} s: {explain()}\n{self._activity()}"
            raise AssertionError(msg) from None

    def _activity(self) -> str:
        lines = []
        polls = self.requests_for("getUpdates")
        if not polls:
            lines.append("the bot never called getUpdates")
        else:
            ago = asyncio.get_running_loop().time() - polls[-1].received_at
            lines.append(f"last getUpdates {ago:.2f} s ago ({len(polls)} in all)")
        if self._queue:
            pending = ", ".join(f"{u.update_id}:{u.kind}" for u in self._queue)
            lines.append(f"updates not confirmed by the bot: {pending}")
        if self.dropped_updates:
            lines.append(
                f"updates dropped by allowed_updates={sorted(self._allowed_updates or [])}: "
                + ", ".join(str(u["update_id"]) for u in self.dropped_updates)
            )
        failed = [r for r in self.requests if r.finished and not r.ok]
        if failed:
            lines.append("failed bot requests: " + "; ".join(r.describe() for r in failed[-10:]))
        if self.server_errors:
            lines.append("FAKE SERVER CRASHED: " + self.server_errors[-1])
        return "\n".join(lines)

    # ---------------------------------------------------------------- internals: HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        token = request.match_info["token"]
        method = request.match_info["method"]
        body = await request.read()
        record = RecordedRequest(
            index=len(self.requests),
            http_method=request.method,
            method=method,
            token=token,
            params={},
            body=body,
            files={},
            received_at=loop.time(),
        )
        self.requests.append(record)
        self._bump()
        try:
            values, files = self._parse_body(request, body)
            record.files = files
            record.params = values
            record.params = _decode_json_fields(values)
            result = await self._dispatch(record, _Params(record))
            status, payload = 200, {"ok": True, "result": result}
        except BotApiError as error:
            status, payload = error.status, error.payload()
        except Exception:
            self.server_errors.append(traceback.format_exc())
            status = 500
            payload = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        record.status = status
        record.response = payload
        record.finished_at = loop.time()
        self._bump()
        return web.json_response(payload, status=status)

    def _parse_body(
        self, request: web.Request, body: bytes
    ) -> tuple[JsonDict, dict[str, tuple[str | None, bytes]]]:
        values: JsonDict = dict(request.query)
        files: dict[str, tuple[str | None, bytes]] = {}
        content_type = request.headers.get("Content-Type", "")
        if not body:
            return values, files
        if request.content_type == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                raise _bad_request("can't parse JSON object") from None
            if not isinstance(decoded, dict):
                raise _bad_request("JSON object expected")
            values.update(decoded)
        elif request.content_type == "multipart/form-data":
            fields, files = _parse_multipart(body, content_type)
            values.update(fields)
        else:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            values.update(pairs)
        return values, files

    async def _dispatch(self, record: RecordedRequest, params: _Params) -> Any:
        if record.token != self.token:
            raise BotApiError(401, "Unauthorized")
        name = record.method.lower()
        faults = self._faults.get(name)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            raise BotApiError(fault.status, fault.description, fault.parameters)
        handler = self._handlers.get(name)
        if handler is not None:
            return await handler(params)
        if name in self._stubs:
            return self._stubs[name](params.values)
        raise BotApiError(404, "Not Found: method not found")

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # ---------------------------------------------------------------- internals: model

    def _update_allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _chat_for(self, params: _Params) -> Chat:
        raw = params.string("chat_id")
        if not raw:
            raise _bad_request("chat_id is empty")
        try:
            chat = self.chats.get(int(raw))
        except ValueError:
            chat = None  # "@channelname" ids: no such chats exist here
        if chat is None:
            raise _bad_request("chat not found")
        if chat.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(
        self, text: str | None, parse_mode: str | None, entities: Any, *, caption: bool
    ) -> tuple[str, list[JsonDict]]:
        what = "message caption" if caption else "message text"
        limit = CAPTION_LIMIT if caption else TEXT_LIMIT
        if text is None:
            text = ""
        if parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                visible, found = parse_html(text)
            elif mode in ("markdown", "markdownv2"):
                visible, found = text.strip(), []
            else:
                raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
        else:
            visible = text.strip()
            found = list(entities) if isinstance(entities, list) else []
        if not visible and not caption:
            raise _bad_request("message text is empty")
        if utf16_len(visible) > limit:
            raise _bad_request(f"{what} is too long" if caption else "message is too long")
        return visible, found

    def _markup(self, params: _Params, chat: Chat) -> tuple[JsonDict | None, JsonDict | None]:
        """Validate reply_markup; returns (inline markup to attach, reply keyboard change)."""
        markup = params.obj("reply_markup")
        if markup is None:
            return None, None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request("can't parse inline keyboard button: field is not an array")
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            return {"inline_keyboard": rows}, None
        if "keyboard" in markup or markup.get("remove_keyboard") or markup.get("force_reply"):
            return None, markup
        raise _bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad_request("can't parse inline keyboard button: Text buttons are unallowed")
        actions = [key for key in _BUTTON_ACTIONS if button.get(key) is not None]
        if not actions:
            raise _bad_request("text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None:
            size = len(str(data).encode())
            if not 1 <= size <= CALLBACK_DATA_LIMIT:
                raise _bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not re.match(r"(https?|tg)://\S+$", str(url)):
            raise _bad_request("BUTTON_URL_INVALID")

    @staticmethod
    def _buttons(markup: JsonDict | None) -> tuple[tuple[Button, ...], ...]:
        if not markup:
            return ()
        return tuple(
            tuple(
                Button(
                    text=b["text"],
                    callback_data=b.get("callback_data"),
                    url=b.get("url"),
                    raw=dict(b),
                )
                for b in row
            )
            for row in markup.get("inline_keyboard", [])
        )

    def _apply_reply_keyboard(self, chat: Chat, change: JsonDict | None) -> None:
        if change is None:
            return
        if "keyboard" in change:
            chat.reply_keyboard = change
        elif change.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _bot_message(
        self,
        chat: Chat,
        message_id: int,
        *,
        text: str | None,
        entities: list[JsonDict],
        source: str | None,
        parse_mode: str | None,
        markup: JsonDict | None,
        document: _StoredFile | None = None,
        edit_count: int = 0,
        date: int | None = None,
    ) -> MessageView:
        raw: JsonDict = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat.json,
            "date": date if date is not None else int(time.time()),
        }
        if edit_count:
            raw["edit_date"] = int(time.time())
        if document is not None:
            raw["document"] = document.document_json()
            if text:
                raw["caption"] = text
                if entities:
                    raw["caption_entities"] = entities
        else:
            raw["text"] = text
            if entities:
                raw["entities"] = entities
        if markup:
            raw["reply_markup"] = markup
        return MessageView(
            chat_id=chat.id,
            message_id=message_id,
            from_bot=True,
            text=text,
            entities=tuple(entities),
            source=source,
            parse_mode=parse_mode,
            buttons=self._buttons(markup),
            document=document.view() if document is not None else None,
            edit_count=edit_count,
            raw=raw,
        )

    def _record_event(self, chat: Chat, event: ChatEvent) -> None:
        chat.events.append(event)
        self._bump()

    def _store_file(self, name: str | None, content: bytes, mime_type: str | None) -> _StoredFile:
        number = next(self._file_counter)
        suffix = ""
        if name and "." in name:
            suffix = "." + name.rsplit(".", 1)[1]
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:06d}",
            file_unique_id=f"AgAD{number:06d}",
            file_name=name,
            mime_type=mime_type,
            content=content,
            file_path=f"documents/file_{number}{suffix}",
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _commands_key(scope: Any, language_code: str | None) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code or ""

    def _existing_message(self, chat: Chat, message_id: int, missing: str) -> MessageView:
        current = chat.get(message_id)
        if current is None:
            raise _bad_request(missing)
        return current

    # ---------------------------------------------------------------- methods

    async def _get_me(self, params: _Params) -> Any:
        return self.bot_user

    async def _get_updates(self, params: _Params) -> Any:
        if self.webhook is not None:
            raise BotApiError(409, CONFLICT_WEBHOOK)
        offset = params.integer("offset")
        limit = params.integer("limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = max(params.integer("timeout") or 0, 0)
        allowed = params.obj("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset is not None:
            if offset > 0:
                self._queue = [u for u in self._queue if u.update_id >= offset]
            elif offset < 0:
                self._queue = self._queue[offset:]
            self._bump()

        # A newer getUpdates terminates an older held one, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        record = params.record
        self._bump()

        def ready() -> bool:
            return bool(self._queue) or self._closing or generation != self._poll_generation

        if not ready() and timeout > 0:
            self._held_poll = record
            self._bump()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while not ready():
                        await self._changed.wait()
            if self._held_poll is record:
                self._held_poll = None
        if generation != self._poll_generation:
            raise BotApiError(409, CONFLICT_OTHER_POLL)
        batch = self._queue[:limit]
        for update in batch:
            update.deliveries += 1
        return [u.payload for u in batch]

    async def _set_webhook(self, params: _Params) -> Any:
        url = params.string("url")
        if not url:
            self.webhook = None
            return True
        self.webhook = dict(params.values)
        if params.flag("drop_pending_updates"):
            self._queue.clear()
        self._bump()
        return True

    async def _delete_webhook(self, params: _Params) -> Any:
        self.webhook = None
        if params.flag("drop_pending_updates"):
            self._queue.clear()
        self._bump()
        return True

    async def _get_webhook_info(self, params: _Params) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    async def _send_message(self, params: _Params) -> Any:
        chat = self._chat_for(params)
        source = params.string("text")
        parse_mode = params.string("parse_mode")
        text, entities = self._format(source, parse_mode, params.obj("entities"), caption=False)
        inline, keyboard = self._markup(params, chat)
        view = self._bot_message(
            chat,
            chat._new_message_id(),
            text=text,
            entities=entities,
            source=source,
            parse_mode=parse_mode,
            markup=inline,
        )
        chat._messages[view.message_id] = view
        self._apply_reply_keyboard(chat, keyboard)
        self._record_event(chat, ChatEvent("message", view))
        return view.raw

    async def _edit(self, params: _Params, *, text_too: bool) -> Any:
        if "inline_message_id" in params:
            raise _bad_request("inline messages are not modelled by the fake server")
        chat = self._chat_for(params)
        current = self._existing_message(
            chat, params.require_int("message_id"), "message to edit not found"
        )
        if not current.from_bot:
            raise _bad_request("message can't be edited")
        inline, _ = self._markup(params, chat)
        source, parse_mode = current.source, current.parse_mode
        text, entities = current.text, [dict(e) for e in current.entities]
        if text_too:
            if current.document is not None:
                raise _bad_request("there is no text in the message to edit")
            source = params.string("text")
            parse_mode = params.string("parse_mode")
            text, entities = self._format(source, parse_mode, params.obj("entities"), caption=False)
        old_markup = current.raw.get("reply_markup")
        if text == current.text and entities == list(current.entities) and inline == old_markup:
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        view = self._bot_message(
            chat,
            current.message_id,
            text=text,
            entities=entities,
            source=source,
            parse_mode=parse_mode,
            markup=inline,
            document=self._files.get(current.document.file_id) if current.document else None,
            edit_count=current.edit_count + 1,
            date=current.raw.get("date"),
        )
        chat._messages[view.message_id] = view
        self._record_event(chat, ChatEvent("edit", view))
        return view.raw

    async def _edit_message_text(self, params: _Params) -> Any:
        return await self._edit(params, text_too=True)

    async def _edit_message_reply_markup(self, params: _Params) -> Any:
        return await self._edit(params, text_too=False)

    def _delete(self, chat: Chat, message_id: int) -> bool:
        current = chat._messages.pop(message_id, None)
        if current is None:
            return False
        self._record_event(chat, ChatEvent("delete", current))
        return True

    async def _delete_message(self, params: _Params) -> Any:
        chat = self._chat_for(params)
        if not self._delete(chat, params.require_int("message_id")):
            raise _bad_request("message to delete not found")
        return True

    async def _delete_messages(self, params: _Params) -> Any:
        chat = self._chat_for(params)
        ids = params.obj("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad_request("message_ids must be a non-empty list of at most 100 ids")
        for message_id in ids:
            self._delete(chat, int(message_id))
        return True

    async def _answer_callback_query(self, params: _Params) -> Any:
        query_id = params.string("callback_query_id") or ""
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise _bad_request(QUERY_INVALID.removeprefix("Bad Request: "))
        query.answered = True
        answer = CallbackAnswer(
            query_id=query_id,
            message_id=query.message_id,
            data=query.data,
            text=params.string("text"),
            show_alert=params.flag("show_alert"),
            url=params.string("url"),
            cache_time=params.integer("cache_time") or 0,
        )
        self._record_event(self.chats[query.chat_id], ChatEvent("callback_answer", answer=answer))
        return True

    async def _set_my_commands(self, params: _Params) -> Any:
        commands = params.obj("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be a list of at most 100 commands")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description must be 1-256 characters")
        key = self._commands_key(params.obj("scope"), params.string("language_code"))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _delete_my_commands(self, params: _Params) -> Any:
        key = self._commands_key(params.obj("scope"), params.string("language_code"))
        self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: _Params) -> Any:
        key = self._commands_key(params.obj("scope"), params.string("language_code"))
        return self._commands.get(key, [])

    async def _send_document(self, params: _Params) -> Any:
        chat = self._chat_for(params)
        document = params.values.get("document")
        upload: tuple[str | None, bytes] | None = None
        stored: _StoredFile | None = None
        if isinstance(document, str) and document.startswith("attach://"):
            upload = params.files.get(document.removeprefix("attach://"))
            if upload is None:
                raise _bad_request(f"file {document} not found in the request")
        elif "document" in params.files:
            upload = params.files["document"]
        elif isinstance(document, str) and document:
            if document.startswith(("http://", "https://")):
                raise _bad_request("failed to get HTTP URL content")
            stored = self._files.get(document)
            if stored is None:
                raise _bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise _bad_request("there is no document in the request")
        if upload is not None:
            name, content = upload
            if not content:
                raise _bad_request("file must be non-empty")
            stored = self._store_file(name, content, "application/octet-stream")
        assert stored is not None
        source = params.string("caption")
        parse_mode = params.string("parse_mode")
        caption, entities = self._format(
            source, parse_mode, params.obj("caption_entities"), caption=True
        )
        inline, keyboard = self._markup(params, chat)
        view = self._bot_message(
            chat,
            chat._new_message_id(),
            text=caption or None,
            entities=entities,
            source=source,
            parse_mode=parse_mode,
            markup=inline,
            document=stored,
        )
        chat._messages[view.message_id] = view
        self._apply_reply_keyboard(chat, keyboard)
        self._record_event(chat, ChatEvent("message", view))
        return view.raw

    async def _send_chat_action(self, params: _Params) -> Any:
        chat = self._chat_for(params)
        action = params.string("action")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._record_event(chat, ChatEvent("action", action=action))
        return True

    async def _get_file(self, params: _Params) -> Any:
        stored = self._files.get(params.string("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


class FakeUser:
    """A person in a private chat with the bot. Expectations consume the chat's events in order:
    each ``expect_*`` returns the next event of its kind that no earlier call returned."""

    def __init__(self, server: FakeTelegram, user_json: JsonDict, chat: Chat) -> None:
        self.server = server
        self.json = user_json
        self.id: int = user_json["id"]
        self.first_name: str = user_json["first_name"]
        self.chat = chat
        self._cursors: dict[str, int] = {}

    # ---------------------------------------------------------------- acting

    async def send(self, text: str) -> JsonDict:
        """Send a text message; returns the Bot API ``Message`` the bot will receive."""
        extra: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(extra, text=text)

    async def send_contact(
        self,
        phone: str,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        user_id: int | None = None,
    ) -> JsonDict:
        """Share a contact. Pass ``user_id=user.id`` for "share my phone number" (what a
        ``request_contact`` keyboard button sends)."""
        contact: JsonDict = {"phone_number": phone, "first_name": first_name or self.first_name}
        if last_name is not None:
            contact["last_name"] = last_name
        if user_id is not None:
            contact["user_id"] = user_id
        return self._user_message({"contact": contact}, contact=contact)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> JsonDict:
        """Upload a document; the bot can fetch it with getFile and the file URL."""
        stored = self.server._store_file(filename, content, mime_type)
        extra: JsonDict = {"document": stored.document_json()}
        if caption:
            extra["caption"] = caption
        return self._user_message(extra, text=caption, document=stored.view())

    async def press(self, message: MessageView | int, button_text: str) -> str:
        """Press the inline button with this text on the message as it is on screen now;
        returns the callback query id."""
        message_id = message if isinstance(message, int) else message.message_id
        current = self.chat.get(message_id)
        if current is None:
            msg = f"message #{message_id} is not on screen\n{self.chat.describe()}"
            raise AssertionError(msg)
        button = current.button(button_text)
        if button.callback_data is None:
            msg = f"button {button_text!r} on #{message_id} has no callback_data: {button.raw}"
            raise AssertionError(msg)
        return await self.press_data(message_id, button.callback_data)

    async def press_data(self, message_id: int, data: str) -> str:
        """Send a callback query with arbitrary (possibly forged) data for a message."""
        current = self.chat.get(message_id)
        if current is not None:
            message: JsonDict = dict(current.raw)
        else:
            # What Telegram sends for a message the bot can no longer access.
            message = {"chat": self.chat.json, "message_id": message_id, "date": 0}
        query_id = f"{self.id}{next(self.server._query_counter):08d}"
        self.server._queries[query_id] = _CallbackQuery(self.chat.id, message_id, data)
        payload = {
            "id": query_id,
            "from": self.json,
            "message": message,
            "chat_instance": f"-{self.chat.id * 7919}",
            "data": data,
        }
        self.server.queue_update("callback_query", payload, chat_id=self.chat.id)
        return query_id

    def block(self) -> None:
        """From now on the bot's calls to this chat fail with 403 "bot was blocked by the user"."""
        self.chat.blocked = True

    def unblock(self) -> None:
        self.chat.blocked = False

    def _user_message(
        self,
        extra: JsonDict,
        *,
        text: str | None = None,
        document: FileView | None = None,
        contact: JsonDict | None = None,
    ) -> JsonDict:
        message_id = self.chat._new_message_id()
        raw: JsonDict = {
            "message_id": message_id,
            "from": self.json,
            "chat": self.chat.json,
            "date": int(time.time()),
            **extra,
        }
        view = MessageView(
            chat_id=self.chat.id,
            message_id=message_id,
            from_bot=False,
            text=text,
            source=text,
            document=document,
            contact=contact,
            raw=raw,
        )
        self.chat._messages[message_id] = view
        self.chat.events.append(ChatEvent("user_message", view))
        self.server.queue_update("message", raw, chat_id=self.chat.id)
        return raw

    # ---------------------------------------------------------------- expecting

    async def expect_message(self, timeout: float = 10.0) -> MessageView:
        """The next message the bot sent to this chat (text or document)."""
        event = await self._next("message", timeout)
        assert event.message is not None
        return event.message

    async def expect_edit(self, timeout: float = 10.0) -> MessageView:
        """The next edit the bot made to one of its messages in this chat (the edited view)."""
        event = await self._next("edit", timeout)
        assert event.message is not None
        return event.message

    async def expect_callback_answer(self, timeout: float = 10.0) -> CallbackAnswer:
        event = await self._next("callback_answer", timeout)
        assert event.answer is not None
        return event.answer

    async def expect_deleted(self, message_id: int, timeout: float = 10.0) -> MessageView:
        """Wait until the message leaves the screen; returns it as it was."""

        def deleted() -> ChatEvent | None:
            for event in self.chat.events:
                if (
                    event.kind == "delete"
                    and event.message is not None
                    and event.message.message_id == message_id
                ):
                    return event
            return None

        await self.server._wait(
            lambda: deleted() is not None,
            timeout,
            lambda: f"message #{message_id} was not deleted\n{self._history()}",
        )
        event = deleted()
        assert event is not None and event.message is not None
        return event.message

    async def assert_no_reply(self, timeout: float = 10.0, *, edits: bool = True) -> None:
        """Assert the bot sent (and, with ``edits``, edited) nothing here beyond what earlier
        expectations consumed, once it confirmed every queued update (see
        :meth:`FakeTelegram.drained` for what that covers)."""
        await self.server.drained(timeout)
        kinds = {"message", "edit"} if edits else {"message"}
        extra = [
            event
            for kind in kinds
            for event in self.chat.events[self._cursors.get(kind, 0) :]
            if event.kind == kind
        ]
        if extra:
            lines = "\n".join(f"  {e.describe()}" for e in extra)
            msg = f"expected no reply in chat {self.chat.id}, but the bot did:\n{lines}"
            raise AssertionError(msg)

    async def _next(self, kind: EventKind, timeout: float) -> ChatEvent:
        def find() -> int | None:
            for index in range(self._cursors.get(kind, 0), len(self.chat.events)):
                if self.chat.events[index].kind == kind:
                    return index
            return None

        await self.server._wait(
            lambda: find() is not None,
            timeout,
            lambda: f"expected a bot {kind!r} in chat {self.chat.id}\n{self._history()}",
        )
        index = find()
        assert index is not None
        self._cursors[kind] = index + 1
        return self.chat.events[index]

    def _history(self) -> str:
        lines = ["what happened in this chat (oldest first):"]
        lines += [f"  {e.describe()}" for e in self.chat.events] or ["  nothing"]
        lines.append(self.chat.describe())
        related = [
            r
            for r in self.server.requests
            if str(r.params.get("chat_id")) == str(self.chat.id) and r.finished and not r.ok
        ]
        if related:
            lines.append("bot requests for this chat that failed:")
            lines += [f"  {r.describe()}" for r in related]
        return "\n".join(lines)


__all__ = [
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
