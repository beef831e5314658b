"""Errors raised by the SMSC client.

Every message names the command (``phones.add_black``), never its parameters, so no password,
API key or phone number can leak into a log line through an exception.
"""

from __future__ import annotations

from typing import Final

# SMSC's codes the client also gives on SMSC's behalf (``SmscError.local``).
IP_BLOCKED: Final = 4
TOO_MANY: Final = 9


class SmscClientError(Exception):
    """Base of everything the SMSC client raises."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(message)
        self.command = command


class SmscError(SmscClientError):
    """SMSC answered with an error code (1–11), or the client refused the call on SMSC's behalf.

    ``local`` is true when the client did not send the request because SMSC would have answered
    this code (rate limits, a blocked host in cool-down); ``retry_after`` then says in seconds when
    trying again makes sense.
    """

    def __init__(
        self,
        command: str,
        code: int,
        description: str = "",
        *,
        local: bool = False,
        retry_after: float | None = None,
    ) -> None:
        origin = "refused by the client" if local else "SMSC"
        super().__init__(command, f"{command}: error {code} ({origin}) {description}".rstrip())
        self.code = code
        self.description = description
        self.local = local
        self.retry_after = retry_after


class SmscUnavailable(SmscClientError):
    """SMSC could not be reached or did not answer in time.

    ``uncertain`` is true for a write whose request may have reached SMSC: it may have been
    applied, so it must not be repeated blindly.
    """

    def __init__(self, command: str, reason: str, *, uncertain: bool = False) -> None:
        super().__init__(command, f"{command}: SMSC not reachable ({reason})")
        self.reason = reason
        self.uncertain = uncertain


class SmscBadResponse(SmscClientError):
    """SMSC answered something the client does not understand (HTML, garbage, wrong shape)."""

    def __init__(self, command: str, reason: str, *, uncertain: bool = False) -> None:
        super().__init__(command, f"{command}: answer not understood ({reason})")
        self.reason = reason
        self.uncertain = uncertain


class AuthPaused(SmscError):
    """Refused locally: one more request could bring SMSC's IP block on every user of the bot.

    ``until`` is the wall-clock time (seconds since the epoch) when trying again makes sense.
    """

    def __init__(
        self, command: str, *, until: float, retry_after: float, busy: bool = False
    ) -> None:
        super().__init__(
            command,
            4,
            "paused to keep SMSC from blocking the IP",
            local=True,
            retry_after=retry_after,
        )
        self.until = until
        # True: no failure forced it, only the requests already in flight (a busy moment).
        self.busy = busy


class CredentialsRefused(SmscError):
    """Refused locally: SMSC refused these credentials at ``rejected_at`` (epoch seconds)."""

    def __init__(self, command: str, *, rejected_at: float) -> None:
        super().__init__(command, 2, "credentials refused before", local=True)
        self.rejected_at = rejected_at


class WriteRefused(SmscClientError):
    """Refused locally, nothing sent: this client may not write with ``command``'s script."""

    def __init__(self, command: str) -> None:
        super().__init__(command, "this client may not make this change")
