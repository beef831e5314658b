"""The Bot API methods: getUpdates and the webhook, sending, editing and deleting messages,
callback answers, commands, files."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from tests.support.botapi.errors import (
    CONFLICT_OTHER_POLL,
    CONFLICT_WEBHOOK,
    NOT_MODIFIED,
    QUERY_INVALID,
    BotApiError,
    _bad_request,
)
from tests.support.botapi.model import CallbackAnswer, Chat, ChatEvent, _StoredFile
from tests.support.botapi.params import _Params
from tests.support.botapi.rules import MessageRules

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
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotApiMethods(MessageRules):
    """The Bot API methods the server models; mixed into :class:`FakeTelegram`."""

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
        return self._new_message(params, self._chat_for(params))

    def _new_message(self, params: _Params, chat: Chat, **media: Any) -> Any:
        """A new message of the bot in ``chat``: its text, or with ``media`` (a document or a
        photo) its caption, formatted, with its keyboards."""
        key, entities_key = ("caption", "caption_entities") if media else ("text", "entities")
        source = params.string(key)
        parse_mode = params.string("parse_mode")
        text, entities = self._format(
            source, parse_mode, params.obj(entities_key), caption=bool(media)
        )
        inline, keyboard = self._markup(params, chat)
        view = self._bot_message(
            chat,
            chat._new_message_id(),
            text=(text or None) if media else text,
            entities=entities,
            source=source,
            parse_mode=parse_mode,
            markup=inline,
            **media,
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
        current = chat._messages.get(message_id)
        if current is None:
            return False
        if chat.json.get("type") != "private" and not current.from_bot and not chat.bot_can_delete:
            # What Telegram answers a bot that is not an admin with "delete messages".
            raise _bad_request("message can't be deleted")
        del chat._messages[message_id]
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
        return self._new_message(params, chat, document=stored)

    async def _send_photo(self, params: _Params) -> Any:
        """An uploaded PNG or JPEG, checked as Telegram does: a real image, at most 10 MB,
        width and height adding up to at most 10,000, a ratio of at most 20."""
        chat = self._chat_for(params)
        photo = params.values.get("photo")
        upload: tuple[str | None, bytes] | None = None
        if isinstance(photo, str) and photo.startswith("attach://"):
            upload = params.files.get(photo.removeprefix("attach://"))
        elif "photo" in params.files:
            upload = params.files["photo"]
        if upload is None:
            raise _bad_request("there is no photo in the request")
        name, content = upload
        size = _image_size(content)
        if size is None:
            raise _bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        if len(content) > 10 * 1024 * 1024 or width + height > 10_000:
            raise _bad_request("PHOTO_INVALID_DIMENSIONS")
        if max(width, height) > 20 * min(width, height):
            raise _bad_request("PHOTO_INVALID_DIMENSIONS")
        stored = self._store_file(name, content, "image/png")
        return self._new_message(params, chat, photo=(stored, width, height))

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


def _image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG (its IHDR) or a JPEG (its SOF); None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(content):
            if content[index] != 0xFF:
                return None
            marker = content[index + 1]
            length = int.from_bytes(content[index + 2 : index + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(content[index + 5 : index + 7], "big")
                width = int.from_bytes(content[index + 7 : index + 9], "big")
                return width, height
            index += 2 + length
    return None
