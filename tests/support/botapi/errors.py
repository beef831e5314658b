"""Telegram's error answers, as this server gives them."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

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
