"""SMSC's request limits: error 9 rate windows per login and error 4 IP blocks."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from .state import is_set
from .wire import Params

# Parameters that do not make two requests different: who asks and how the answer is written.
_NOT_IDENTITY = frozenset({"login", "psw", "apikey", "fmt", "charset"})
DUPLICATE = "duplicate request, wait a minute"
TOO_MANY = "too many requests, wait a minute"
CONCURRENT = "too many concurrent requests"


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` requests with ``key`` per window; ``description`` words the error 9."""

    key: Hashable
    limit: int
    description: str


def _identity(script: str, params: Params) -> Hashable:
    kept = sorted((k, v) for k, v in params.items() if k not in _NOT_IDENTITY)
    return ("same", script, tuple(kept))


def rules_for(script: str, params: Params) -> list[Rule]:
    """The limits a request to ``script`` counts against."""
    if script in ("phones", "templates", "get"):
        return [Rule(_identity(script, params), 3, DUPLICATE)]
    if script == "senders":
        if is_set(params, "get"):
            return [Rule(_identity(script, params), 3, DUPLICATE)]
        if is_set(params, "add"):
            return [Rule(("senders", "add"), 5, TOO_MANY)]
    if script == "users":
        if is_set(params, "add"):
            return [Rule(("users", "add"), 3, TOO_MANY)]
        if is_set(params, "chg"):
            return [Rule(("users", "chg", params.get("user", "").strip()), 3, TOO_MANY)]
    if script == "balance":
        return [Rule(("balance",), 10, TOO_MANY)]
    return []


class RateWindows:
    """Sliding windows per (login, rule key)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._hits: dict[tuple[str, Hashable], deque[float]] = {}

    def admit(self, login: str, rules: Sequence[Rule], now: float) -> Rule | None:
        """Count the request and return None, or return the rule it breaks without counting it.

        A refused request is not counted (inferred): otherwise a client retrying every 20 s
        would stay locked out for ever.
        """
        windows = [self._hits.setdefault((login, rule.key), deque()) for rule in rules]
        for rule, hits in zip(rules, windows, strict=True):
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= rule.limit:
                return rule
        for hits in windows:
            hits.append(now)
        return None

    def clear(self) -> None:
        """Forget every window."""
        self._hits.clear()


class IpGuard:
    """Blocks an IP for ``duration`` after ``limit`` failed authorisations within ``window``."""

    def __init__(self, limit: int, window: float, duration: float) -> None:
        self.limit = limit
        self.window = window
        self.duration = duration
        self._failures: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def blocked(self, ip: str, now: float) -> bool:
        """Whether requests from ``ip`` are refused with error 4."""
        until = self._blocked_until.get(ip)
        if until is None:
            return False
        if now < until:
            return True
        del self._blocked_until[ip]
        self._failures.pop(ip, None)
        return False

    def failed(self, ip: str, now: float) -> None:
        """Count a failed authorisation; the ``limit``-th one starts the block."""
        failures = self._failures.setdefault(ip, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        failures.append(now)
        if len(failures) >= self.limit:
            self._blocked_until[ip] = now + self.duration

    def clear(self) -> None:
        """Forget failures and blocks."""
        self._failures.clear()
        self._blocked_until.clear()
