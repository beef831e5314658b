"""Pages of an SMSC list that pages one way only, by a cursor (contacts' ``after_id``, the black
list's ``prev_id``): the page after a cursor is one read, the page before it a walk from the start.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.smsc.client import advances

T = TypeVar("T")

# (cursor to read after, how many) -> the next items in list order.
Read = Callable[[int | None, int], Awaitable[list[T]]]


def _everything(_item: object) -> bool:
    return True


async def page_after(
    read: Read[T],
    cursor_of: Callable[[T], int | None],
    at: int | None,
    want: int,
    *,
    ascending: bool,
    keep: Callable[[T], bool] | None = None,
    chunk: int = 200,
) -> list[T]:
    """Up to ``want`` kept items after cursor ``at`` (None: from the start), in list order.

    Without ``keep`` that is one read of ``want``; with it, reads of ``chunk`` until enough match.
    """
    found: list[T] = []
    count = chunk if keep is not None else want
    matches = keep or _everything
    while True:
        items = await read(at, count)
        found += [item for item in items if matches(item)]
        if len(found) >= want or len(items) < count:
            return found[:want]
        cursor = cursor_of(items[-1])
        if not advances(cursor, at, ascending=ascending):
            return found[:want]
        at = cursor


async def page_before(
    read: Read[T],
    cursor_of: Callable[[T], int | None],
    at: int,
    size: int,
    *,
    ascending: bool,
    keep: Callable[[T], bool] | None = None,
    chunk: int = 1000,
) -> tuple[list[T], bool, bool]:
    """The ``size`` kept items just before cursor ``at``, and whether any come before and after.

    The list pages forward only, so it is walked from the start keeping one page's worth; an item
    without a cursor ends the walk as ``at`` itself would.
    """
    window: deque[T] = deque(maxlen=size)
    seen = 0
    after: int | None = None
    matches = keep or _everything
    while True:
        items = await read(after, chunk)
        for item in items:
            if not matches(item):
                continue
            cursor = cursor_of(item)
            if cursor is None or (cursor >= at if ascending else cursor <= at):
                return list(window), seen > size, True
            window.append(item)
            seen += 1
        last = cursor_of(items[-1]) if items else None
        if len(items) < chunk or not advances(last, after, ascending=ascending):
            return list(window), seen > size, False
        after = last
