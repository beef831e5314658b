"""Simulated users: what they send and press, and what they expect to see."""

# Expectations take a timeout because it is part of what they assert (and becomes the failure
# message); asyncio.timeout around the call could not say what was expected.
# ruff: noqa: ASYNC109

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.support.botapi.errors import JsonDict
from tests.support.botapi.html import utf16_len
from tests.support.botapi.model import (
    CallbackAnswer,
    Chat,
    ChatEvent,
    EventKind,
    FileView,
    MessageView,
    _CallbackQuery,
)

if TYPE_CHECKING:
    from tests.support.botapi.server import FakeTelegram


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
