"""The state a test sees and holds: views of messages, chats and requests, and the
server's own records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.support.botapi.errors import JsonDict


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
    photo: FileView | None = None
    """A photo the bot sent (sendPhoto), with the bytes it uploaded."""
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
        self.bot_can_delete = True
        """In a group: whether the bot is an admin allowed to delete other people's messages."""

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
