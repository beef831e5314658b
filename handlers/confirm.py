"""Taps on confirmation buttons: finding the record, claiming or cancelling it with an answer for
every refusal, settling the confirmed SMSC call, and buttons with no record at all.

Feature routers handle their own actions with ``Cf.filter(), Asked("action")``; this router
comes after them and before the fallback, so it sees only ids with no record and the buttons of
the release before records ("ok:..."), which once carried the whole action.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NotRequired, Protocol, TypedDict, Unpack

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.commands import N_
from bot.errors import StaleButton, explain
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, Refusal, account_key
from bot.smsc import SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.smsc.errors import WriteRefused
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import (
    ANSWER_AFTER,
    Cf,
    answer_or_show,
    chat_of,
    confirm_keyboard,
    first_line,
    markup_of,
    send_to_chat,
)
from bot.ui import show_in_place as show

log = logging.getLogger(__name__)

router = Router(name="confirm")

# The confirm buttons of releases before server-side records: their data carried the action.
OLD_PREFIX = "ok:"


class Asked(Filter):
    """A confirmation button of ``action``; hands the handler its record as ``asked``."""

    def __init__(self, action: str) -> None:
        self.action = action

    async def __call__(
        self, query: CallbackQuery, callback_data: Cf, confirmations: ConfirmationService
    ) -> bool | dict[str, Any]:
        record = await confirmations.get(callback_data.id)
        # Another chat's question is as unknown here as a made-up id: ``no_record`` answers it.
        if record is None or record.action != self.action or record.chat_id != chat_of(query):
            return False
        return {"asked": record}


# A refused tap's answer: by the refusal's reason, and for a question already answered by how
# its record ended ("cancelled": No).
REFUSALS: Final = {
    "missing": N_("This question is out of date. Nothing was done."),
    "expired": N_("This question was asked too long ago. Nothing was done; please start again."),
    "account": N_(
        "This question was asked before the chat logged in again. Nothing was done; "
        "please start again."
    ),
    "done": N_("This was already confirmed and done."),
    "failed": N_(
        "This was already confirmed, and SMSC refused it. Nothing was changed; "
        "start again to retry."
    ),
    "cancelled": N_("This was already answered with No. Nothing was done."),
}


def unknown_text() -> str:
    return _(
        "Whether SMSC carried this out is unknown: its answer was lost, or the bot stopped "
        "before it came. Check before you repeat it."
    )


def refusal_text(refusal: Refusal) -> str:
    if refusal.reason == "unknown":
        return _("This was already confirmed.") + " " + unknown_text()
    why: str = refusal.reason
    if why == "answered" and refusal.record is not None:
        why = refusal.record.state if refusal.record.state in ("done", "failed") else "cancelled"
    return _(REFUSALS.get(why, REFUSALS["missing"]))


async def refuse(
    query: CallbackQuery, refusal: Refusal, check: InlineKeyboardMarkup | None = None
) -> None:
    """Answer a tap that does nothing; ``check`` is offered when the outcome is unknown."""
    log.info(
        "confirmation tap refused in chat %s: %s (%s)",
        chat_of(query),
        refusal.reason,
        refusal.record.state if refusal.record else "-",
    )
    if refusal.reason == "missing":
        # No record in this chat: nothing on screen belongs to a question to edit.
        raise StaleButton("no confirmation record in this chat")
    await show(query, refusal_text(refusal), check if refusal.reason == "unknown" else None)


async def claim(
    query: CallbackQuery,
    asked: Confirmation,
    confirmations: ConfirmationService,
    account: Account | None,
    check: InlineKeyboardMarkup | None = None,
) -> Confirmation | None:
    """Use the record for this Yes; None (the refusal already shown) when it cannot be used."""
    result = await confirmations.claim(
        asked.id, chat_id=chat_of(query), account=account_key(account), user_id=query.from_user.id
    )
    return await unless_refused(query, result, check)


async def cancel(
    query: CallbackQuery,
    asked: Confirmation,
    confirmations: ConfirmationService,
    check: InlineKeyboardMarkup | None = None,
) -> bool:
    """End the record for this No; False (the refusal shown) when it was used or not found."""
    result = await confirmations.cancel(
        asked.id, chat_id=chat_of(query), user_id=query.from_user.id
    )
    return await unless_refused(query, result, check) is not None


async def unless_refused(
    query: CallbackQuery, result: Confirmation | Refusal, check: InlineKeyboardMarkup | None
) -> Confirmation | None:
    """The record a claim or cancel returned; a refusal is shown, and gives None."""
    if isinstance(result, Refusal):
        await refuse(query, result, check)
        return None
    return result


async def perform(
    query: CallbackQuery,
    confirmations: ConfirmationService,
    audit: AuditLog,
    record: Confirmation,
    call: Callable[[], Awaitable[object]],
    *,
    what: str,
    target: str,
    detail: str | None = None,
    check: InlineKeyboardMarkup | None = None,
) -> bool:
    """Run the claimed record's SMSC call and settle the record; True when it was done.

    An SMSC error code is re-raised (the record is failed) for the handler or the error layer to
    explain. A request that may have arrived is answered here as unknown, with ``check``; one
    that certainly never left reopens the record, and the same buttons stay for another tap.
    """
    chat_id, user = chat_of(query), query.from_user.id
    try:
        await call()
    except WriteRefused:
        # The tapper's role cannot make this change: nothing was sent.
        await confirmations.release(record.id)
        raise
    except SmscError as exc:
        if exc.local:
            # Refused by the client on SMSC's behalf: nothing was sent.
            await confirmations.release(record.id)
        else:
            await confirmations.finish(record.id, "failed")
        await audit.record(chat_id, user, what, target, f"error {exc.code}", detail)
        raise
    except (SmscUnavailable, SmscBadResponse) as exc:
        log.warning("%s", exc)
        if exc.uncertain:
            await confirmations.finish(record.id, "unknown")
            await audit.record(chat_id, user, what, target, "unknown", detail)
            await show(query, unknown_text(), check)
            return False
        await confirmations.release(record.id)
        await audit.record(chat_id, user, what, target, "unreachable", detail)
        reason = (
            _("SMSC is not reachable right now.")
            if isinstance(exc, SmscUnavailable)
            else _("SMSC answered something the bot does not understand.")
        )
        again = _("Nothing was changed. The same buttons work again.")
        await show(query, reason + " " + again, markup_of(query))
        return False
    await confirmations.finish(record.id, "done")
    await audit.record(chat_id, user, what, target, "ok", detail)
    return True


async def ask_confirmation(
    event: CallbackQuery | Message,
    data: Mapping[str, Any],
    *,
    action: str,
    payload: dict[str, str],
    question: str,
    yes: str | None = None,
    ttl: float = CHANGE_TTL,
    in_place: bool = False,
) -> None:
    """Record the question ``action`` and show it with Yes and No: after a button in place of its
    message or as a new message under it, after a message as its answer. ``data``: aiogram's, of
    a handler taking ``**data`` (its ``confirmations`` and ``account``)."""
    confirmations: ConfirmationService = data["confirmations"]
    record_id = await confirmations.ask(
        chat_id=chat_of(event),
        account=account_key(data["account"]),
        action=action,
        payload=payload,
        asked_by=event.from_user.id if event.from_user else None,
        ttl=ttl,
    )
    markup = confirm_keyboard(record_id, yes=yes)
    if isinstance(event, CallbackQuery) and not in_place:
        await send_to_chat(event, question, markup)
    else:
        await answer_or_show(event, question, markup)


class Change(TypedDict):
    """A confirmed change as the audit log records it (``what`` to ``target``, ``detail``), and
    what a No does."""

    what: str
    target: str
    detail: NotRequired[str | None]
    on_no: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Tap:
    """A tap on a confirmation's Yes or No, with what settling it needs besides the SMSC call."""

    query: CallbackQuery
    callback_data: Cf
    asked: Confirmation
    confirmations: ConfirmationService
    # None when the account is gone since the question: the claim is refused as out of date.
    account: Account | None
    audit: AuditLog

    @classmethod
    def of(cls, query: CallbackQuery, data: dict[str, Any]) -> Tap:
        """The tap of a handler that takes the rest of aiogram's data as ``**data``."""
        return cls(
            query,
            data["callback_data"],
            data["asked"],
            data["confirmations"],
            data["account"],
            data["audit"],
        )

    async def claimed(
        self, on_no: Callable[[], Awaitable[None]], check: InlineKeyboardMarkup | None = None
    ) -> Confirmation | None:
        """The record of a Yes, claimed; None when the tap ends here: a No (the record ended,
        then ``on_no``) or a tap refused (the refusal shown, ``check`` with an unknown outcome)."""
        if not self.callback_data.yes:
            if await cancel(self.query, self.asked, self.confirmations, check):
                await on_no()
            return None
        return await claim(self.query, self.asked, self.confirmations, self.account, check)

    async def settle(
        self,
        call: Callable[[], Awaitable[object]],
        *,
        check: InlineKeyboardMarkup | None,
        refused: InlineKeyboardMarkup | None = None,
        progress: str | None = None,
        explain_refusal: bool = True,
        **change: Unpack[Change],
    ) -> bool:
        """The tap, whole: No ends the record and runs ``on_no``; Yes claims it, shows
        ``progress``, performs ``call`` and explains an SMSC refusal in place (under ``refused``,
        else ``check``; with ``explain_refusal`` off it goes on to the error layer). True when the
        change was made: the caller says so."""
        query, confirmations = self.query, self.confirmations
        record = await self.claimed(change["on_no"], check)
        if record is None:
            return False
        if progress is not None:
            await show(query, progress, None)
        try:
            return await perform(
                query,
                confirmations,
                self.audit,
                record,
                call,
                what=change["what"],
                target=change["target"],
                detail=change.get("detail"),
                check=check,
            )
        except SmscError as exc:
            if not explain_refusal:
                raise
            await show(query, explain(exc), refused if refused is not None else check)
            return False

    async def delete(self, call: Callable[[], Awaitable[object]], **change: Unpack[Change]) -> bool:
        """``settle`` for a delete: an SMSC refusal goes on to the error layer, which says it in a
        message of its own and leaves the card as it was."""
        return await self.settle(call, check=None, explain_refusal=False, **change)

    async def change(
        self,
        call: Callable[[], Awaitable[object]],
        *,
        markup: InlineKeyboardMarkup,
        done: str,
        **change: Unpack[Change],
    ) -> None:
        """``settle`` with an SMSC refusal, an unknown outcome and ``done`` each shown in place
        under ``markup``."""
        if await self.settle(call, check=markup, **change):
            await show(self.query, done, markup)


class HasId(Protocol):
    """Button data naming one item by ``id``."""

    id: int


@dataclass(frozen=True)
class DeleteFlow:
    """Deleting an item from its card: the question asked in place of the card, under its first
    line (the item's name), as a record ``action`` holding the id under ``key``; then the tap: No
    shows the ``card`` again, Yes runs ``delete`` and says ``done`` under ``back``. ``question``
    and ``done`` are msgids (``N_``); the audit log says "<key>.delete"."""

    action: str
    key: str
    question: str
    done: str
    delete: Callable[[SmscClient, int], Awaitable[object]]
    card: Callable[[CallbackQuery, SmscClient, int], Awaitable[None]]
    back: Callable[[], InlineKeyboardMarkup]

    def register(self, router: Router, button: Filter, flags: dict[str, Any]) -> None:
        """The Delete button's handler and the taps on its question's Yes and No, in that order."""
        router.callback_query(button, flags=flags)(self.ask)
        router.callback_query(Cf.filter(), Asked(self.action), flags=flags)(self.confirm)

    async def ask(self, query: CallbackQuery, callback_data: HasId, **data: Any) -> None:
        name, question = first_line(query), _(self.question)
        await ask_confirmation(
            query,
            data,
            action=self.action,
            payload={self.key: str(callback_data.id)},
            question=f"{name}\n\n{question}" if name else question,
            yes=_("Yes, delete"),
            in_place=True,
        )

    async def confirm(self, query: CallbackQuery, smsc: SmscClient, **data: Any) -> None:
        tap = Tap.of(query, data)
        item = int(tap.asked.payload.get(self.key, "0"))

        async def card_again() -> None:
            await self.card(query, smsc, item)

        await tap.change(
            lambda: self.delete(smsc, item),
            what=f"{self.key}.delete",
            target=str(item),
            markup=self.back(),
            on_no=card_again,
            done=_(self.done),
        )


@router.callback_query(Cf.filter(), flags=ANSWER_AFTER)
@router.callback_query(F.data.startswith(OLD_PREFIX), flags=ANSWER_AFTER)
async def no_record(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """An id with no record (forged, or from another bot's database) or a pre-record button."""
    log.info("confirmation button without a record in chat %s", chat_of(query))
    callback_answer.text = _(REFUSALS["missing"])
    callback_answer.show_alert = True
