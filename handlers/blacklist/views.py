"""Texts and keyboards of the black list: an entry, a removal, the list, a bulk add."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.commands import N_
from bot.errors import smsc_error_text
from bot.i18n import fmt_number
from bot.phones import digits_of, display_stored
from bot.services.blacklist import Bulk
from bot.smsc import SmscError, SmscUnavailable
from bot.smsc.models import BlackEntry, BlackType
from bot.text import clip
from bot.ui import button, esc, keyboard, pager_row
from handlers.blacklist.data import MARK, PAGE_SIZE, BlAdd, BlDel, BlMenu, BlPage, BlType, BlUndo
from handlers.common import home_row

# What each type blocks: the end of a sentence, and a button's label.
TYPE_WORDS: Final = {
    BlackType.MASS: (N_("mass mailings are blocked"), N_("Mass mailings")),
    BlackType.SINGLE: (N_("single messages are blocked"), N_("Single messages")),
    BlackType.ALL: (N_("all messages are blocked"), N_("All messages")),
}


def type_text(kind: BlackType) -> str:
    return _(TYPE_WORDS[kind][0])


def type_label(kind: BlackType) -> str:
    return _(TYPE_WORDS[kind][1])


def invalid_text(text: str) -> str:
    return _(
        "<b>{text}</b> is not a valid phone number. Send the number again, "
        "for example +7 999 123-45-67, or /cancel."
    ).format(text=esc(clip(text.strip(), 40)))


def entry_keyboard(digits: str, kind: BlackType, fresh: bool) -> InlineKeyboardMarkup:
    types = [
        button((MARK if t is kind else "") + type_label(t), BlType(p=digits, t=int(t), n=fresh))
        for t in BlackType
    ]
    last = button(_("Undo"), BlUndo(p=digits)) if fresh else button(_("Unblock"), BlDel(p=digits))
    # Two a row: the type labels are longer than a third of a phone's width.
    return keyboard([*types, last], 2, home_row())


def removed_view(digits: str, region: str, *, absent: bool) -> tuple[str, InlineKeyboardMarkup]:
    """The answer to a removal: the number is out of the list, with a button to block it (again,
    when it was in the list)."""
    number = esc(display_stored(digits, region))
    if absent:
        text = _("{number} is not in the black list.").format(number=number)
        block = button("⛔ " + _("Block"), BlAdd(p=digits))
    else:
        text = _("{number} is no longer in the black list.").format(number=number)
        block = button(_("Block again"), BlAdd(p=digits))
    return text, InlineKeyboardMarkup(inline_keyboard=[[block], home_row()])


@dataclass(frozen=True)
class Shown:
    """A page of the list as shown: its entries, whether pages come before and after, where its
    first entry stands (0-based) and how many entries the list (or the search) has."""

    items: list[BlackEntry]
    has_prev: bool
    has_next: bool
    start: int
    total: int


def list_view(
    shown: Shown, region: str, page: BlPage, lead: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    items, size = shown.items, PAGE_SIZE
    pages = max(1, -(-shown.total // size))
    current = min(shown.start // size + 1, pages)
    if page.q:
        header = ngettext(
            "Black list, numbers with {digits}: {n} found.",
            "Black list, numbers with {digits}: {n} found.",
            shown.total,
        ).format(digits=esc(page.q), n=fmt_number(shown.total))
    else:
        header = ngettext(
            "Black list: {n} number, newest first.",
            "Black list: {n} numbers, newest first.",
            shown.total,
        ).format(n=fmt_number(shown.total))
    lines = [lead, ""] if lead else []
    if items or page.q:
        lines.append(header)
    if not items:
        lines.append(_("Nothing found.") if page.q else _("The black list is empty."))
    buttons = []
    for i, entry in enumerate(items, shown.start + 1):
        number = display_stored(entry.phone, region)
        line = f"{i}. {esc(number)} — {type_label(entry.type)}"
        if entry.comment:
            line += f" ({esc(clip(entry.comment, 60))})"
        lines.append(line)
        buttons.append(button(f"{number} ✖", BlDel(p=digits_of(entry.phone))))
    previous = BlPage(d="p", at=items[0].id, q=page.q) if items and shown.has_prev else None
    following = BlPage(d="n", at=items[-1].id, q=page.q) if items and shown.has_next else None
    pager = pager_row(previous, following)
    if items:
        # The page's number: tapping it shows this page afresh (the one way back to it after a
        # removal asked in its place).
        here = button(f"{current}/{pages}", BlPage(d="n", at=items[0].id + 1, q=page.q))
        pager.insert(1 if previous is not None else 0, here)
    menu = [
        button(_("Search"), BlMenu(a="search")),
        button(_("Add numbers"), BlMenu(a="add")),
    ]
    more = [button(_("Show all"), BlPage(d="n", at=0))] if page.q else []
    return "\n".join(lines), keyboard(
        buttons, 2, *([pager] if pager else []), menu, *([more] if more else []), home_row()
    )


# -- bulk --------------------------------------------------------------------------------------


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, SmscError):
        return smsc_error_text(exc)
    if isinstance(exc, SmscUnavailable):
        return _("SMSC is not reachable right now.")
    return _("SMSC answered something the bot does not understand.")


def listing(items: list[str], budget: int) -> str:
    """Items joined with commas, cut to ``budget`` characters with "and N more"."""
    shown: list[str] = []
    used = 0
    for item in items:
        if used + len(item) + 2 > budget:
            rest = len(items) - len(shown)
            return ", ".join(shown) + " " + _("… and {n} more").format(n=fmt_number(rest))
        shown.append(item)
        used += len(item) + 2
    return ", ".join(shown)


def progress_text(bulk: Bulk) -> str:
    return ngettext(
        "Black list: {done} of {total} number done…",
        "Black list: {done} of {total} numbers done…",
        bulk.total,
    ).format(done=fmt_number(bulk.done), total=fmt_number(bulk.total))


def summary_text(bulk: Bulk, invalid: list[str]) -> str:
    lines = [_("Black list: done.")]
    if bulk.left_out:
        lines.append(
            ngettext(
                "Only the first {taken} of {total} number were taken: "
                "send the rest in another file.",
                "Only the first {taken} of {total} numbers were taken: "
                "send the rest in another file.",
                bulk.total + bulk.left_out,
            ).format(taken=fmt_number(bulk.total), total=fmt_number(bulk.total + bulk.left_out))
        )
    if bulk.added_numbers:
        added = ngettext("{n} number added:", "{n} numbers added:", bulk.added).format(
            n=fmt_number(bulk.added)
        )
        lines.append(added + " " + listing([esc(x) for x in bulk.added_numbers], 1200))
    else:
        lines.append(_("No number was added."))
    if bulk.already:
        already = ngettext(
            "{n} number was already there:", "{n} numbers were already there:", bulk.already
        ).format(n=fmt_number(bulk.already))
        lines.append(already + " " + listing([esc(x) for x in bulk.already_numbers], 600))
    if invalid:
        lines.append(
            ngettext(
                "{n} is not a valid number: {items}",
                "{n} are not valid numbers: {items}",
                len(invalid),
            ).format(
                n=fmt_number(len(invalid)),
                items=listing([esc(clip(x, 40)) for x in invalid], 1200),
            )
        )
    if bulk.failed:
        lines.append(
            ngettext(
                "SMSC refused {n} number: {items}",
                "SMSC refused {n} numbers: {items}",
                len(bulk.failed),
            ).format(
                n=fmt_number(len(bulk.failed)),
                items=listing(
                    [f"{esc(num)} ({esc(smsc_error_text(exc))})" for num, exc in bulk.failed],
                    1200,
                ),
            )
        )
    if bulk.unconfirmed:
        lines.append(
            ngettext(
                "SMSC did not confirm {n} number; check it in the list: {items}",
                "SMSC did not confirm {n} numbers; check them in the list: {items}",
                len(bulk.unconfirmed),
            ).format(
                n=fmt_number(len(bulk.unconfirmed)),
                items=listing([esc(x) for x in bulk.unconfirmed], 600),
            )
        )
    if bulk.stopped is not None:
        left = bulk.total - bulk.done
        lines.append(_("Stopped early: {reason}").format(reason=failure_reason(bulk.stopped)))
        lines.append(
            ngettext(
                "{n} number was not sent to SMSC.", "{n} numbers were not sent to SMSC.", left
            ).format(n=fmt_number(left))
        )
    return "\n".join(lines)


def summary_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Open the black list"), BlMenu(a="list"))]]
    )
