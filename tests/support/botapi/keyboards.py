"""Every inline keyboard any fake server received in this test session, for the phone-width check.

The record is per process (a module-level list), so a width test that runs after the rest of the
end-to-end suite sees what every other test made the bot show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class SeenKeyboard:
    """One keyboard's labels, row by row, with where it was seen: the first line of its message
    and the test that made the bot send it."""

    rows: tuple[tuple[str, ...], ...]
    text: str
    test: str


SEEN: list[SeenKeyboard] = []
_KEYS: set[tuple[tuple[str, ...], ...]] = set()


def record(rows: list[list[dict[str, object]]], text: str | None) -> None:
    """Keep a keyboard the bot sent, once per distinct set of labels."""
    labels = tuple(tuple(str(button.get("text", "")) for button in row) for row in rows)
    if not labels or labels in _KEYS:
        return
    _KEYS.add(labels)
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    first = (text or "").strip().split("\n", 1)[0][:80]
    SEEN.append(SeenKeyboard(labels, first, test))
