"""Checking and building what the bot sends: chats, text formats, keyboards, files."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.support.botapi import keyboards
from tests.support.botapi.errors import BotApiError, JsonDict, _bad_request
from tests.support.botapi.html import parse_html, utf16_len
from tests.support.botapi.model import (
    Button,
    Chat,
    ChatEvent,
    MessageView,
    RecordedRequest,
    _CallbackQuery,
    _QueuedUpdate,
    _StoredFile,
)
from tests.support.botapi.params import _Params

# Telegram's limits, in UTF-16 code units (texts) and bytes (callback data).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

# Telegram's default when allowed_updates is [] or was never given.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

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


class MessageRules:
    """How the server checks and builds what the bot sends: the chat, the text and its format,
    the keyboard, files. Mixed into :class:`FakeTelegram`, whose state it reads and changes."""

    # Defined by FakeTelegram.__init__.
    bot_user: JsonDict
    chats: dict[int, Chat]
    webhook: JsonDict | None
    _changed: asyncio.Event
    _queue: list[_QueuedUpdate]
    _allowed_updates: frozenset[str] | None
    _poll_generation: int
    _held_poll: RecordedRequest | None
    _closing: bool
    _files: dict[str, _StoredFile]
    _files_by_path: dict[str, _StoredFile]
    _file_counter: Iterator[int]
    _queries: dict[str, _CallbackQuery]
    _commands: dict[tuple[str, str], list[JsonDict]]
    _bump: Callable[[], None]

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
            keyboards.record(rows, params.string("text") or self._text_of(params, chat))
            return {"inline_keyboard": rows}, None
        if "keyboard" in markup or markup.get("remove_keyboard") or markup.get("force_reply"):
            return None, markup
        raise _bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _text_of(params: _Params, chat: Chat) -> str | None:
        """The text of the message whose keyboard alone is edited."""
        message_id = params.integer("message_id")
        current = chat.get(message_id) if message_id is not None else None
        return current.text if current is not None else None

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
        photo: tuple[_StoredFile, int, int] | None = None,
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
        if photo is not None:
            stored, width, height = photo
            size = {"width": width, "height": height, "file_size": len(stored.content)}
            raw["photo"] = [
                {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, **size}
            ]
        if document is not None or photo is not None:
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
            photo=photo[0].view() if photo is not None else None,
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
