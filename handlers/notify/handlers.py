"""/notify: the chat's notifications about its account, each switched on or off with its
parameter (threshold, digest time), and the chat's time zone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n

from bot.accounts import RoleTooLow
from bot.errors import StaleButton
from bot.i18n import current_locale
from bot.middlewares import ACCOUNT_FLAG
from bot.services.notify import (
    DAILY,
    DEFAULT_TZ,
    WEEKLY,
    Notifier,
    parse_threshold,
    parse_time,
    zone,
    zone_name,
)
from bot.services.teams import Role
from bot.storage.accounts import Account
from bot.storage.notify import KINDS
from bot.ui import NOT_COMMAND, answer_or_show, ask, chat_of, send_to_chat, show_in_place
from handlers.common import Menu, with_home
from handlers.notify.data import NotifyForm, Nt, NtAction
from handlers.notify.views import (
    card_view,
    digest_choice,
    threshold_problem,
    threshold_prompt,
    time_problem,
    time_prompt,
    watch_view,
    zone_problem,
    zone_prompt,
    zones_view,
)

router = Router(name="notify.handlers")

# In a team, admins choose what the account is watched for; every member whether they receive it.
WATCHES: Final = Role.ADMIN


async def _change(
    notifier: Notifier,
    chat_id: int,
    account: Account,
    role: Role,
    kind: str,
    enabled: bool,
    **params: Any,
) -> None:
    """``Notifier.change`` for a member of ``role``; refused, as a role too low, when it would
    have the account watched for a new kind."""
    if not await notifier.change(
        chat_id, account, kind, enabled, may_watch=role >= WATCHES, **params
    ):
        raise RoleTooLow(WATCHES, role)


async def _may_ask(notifier: Notifier, account: Account, role: Role, kind: str) -> None:
    # Before the question (nobody types a threshold in vain) and before anything is saved.
    if not await notifier.may_receive(account, kind, role >= WATCHES):
        raise RoleTooLow(WATCHES, role)


async def card(
    notifier: Notifier, chat_id: int, account: Account, role: Role
) -> tuple[str, InlineKeyboardMarkup]:
    subs, tz = await notifier.settings(chat_id, account)
    # The way home on every path to the card: the command, home, and back from a step.
    text, markup = card_view(account.login or "", subs, tz, team=role >= WATCHES)
    return text, with_home(markup)


async def _remember(notifier: Notifier, chat_id: int, i18n: I18n) -> None:
    # A notification is written when nobody is talking to the bot: in the language used here.
    await notifier.repo.set_language(chat_id, i18n.current_locale, DEFAULT_TZ)


async def _changed_answer(
    message: Message, notifier: Notifier, account: Account, role: Role
) -> None:
    text, markup = await card(notifier, message.chat.id, account, role)
    await message.answer(text, reply_markup=markup)


@router.message(Command("notify"), flags={ACCOUNT_FLAG: True})
@router.callback_query(Menu.filter(F.action == "notify"), flags={ACCOUNT_FLAG: True})
async def notify_command(
    event: Message | CallbackQuery,
    state: FSMContext,
    notifier: Notifier,
    account: Account,
    role: Role,
) -> None:
    await state.clear()
    await answer_or_show(event, *await card(notifier, chat_of(event), account, role))


# A tap is answered once the handler is done (nothing here waits for SMSC), not before: a role
# too low, found only in the handler (is the kind watched yet?), is then the error layer's
# alert on the button, as a refusal by the role flag is everywhere else.
ANSWERED_HERE: Final[dict[str, Any]] = {ACCOUNT_FLAG: True, "callback_answer": {"disabled": True}}


@router.callback_query(Nt.filter(), flags=ANSWERED_HERE)
async def tapped(query: CallbackQuery, **data: Any) -> None:
    await _tapped(query, **data)
    await query.answer()


async def _tapped(
    query: CallbackQuery,
    callback_data: Nt,
    state: FSMContext,
    notifier: Notifier,
    account: Account,
    role: Role,
    i18n: I18n,
    **_data: Any,
) -> None:
    chat_id = chat_of(query)
    action, value = callback_data.action, callback_data.value
    subs, tz = await notifier.settings(chat_id, account)
    if action is NtAction.BALANCE:
        await _may_ask(notifier, account, role, "balance")
        balance = subs.get("balance")
        text, markup = threshold_prompt(balance is not None and balance.enabled)
        await state.clear()
        await state.set_state(NotifyForm.threshold)
        if query.bot is not None:
            await query.bot.send_message(chat_id, text, reply_markup=markup)
        return
    if action is NtAction.DIGEST and value in (DAILY, WEEKLY):
        await _may_ask(notifier, account, role, "digest")
        text, markup = time_prompt(value, tz)
        await state.clear()
        await state.set_state(NotifyForm.time)
        await state.update_data(period=value)
        await show_in_place(query, text, markup)
        return
    if action is NtAction.DIGEST and not value:
        await state.clear()
        await show_in_place(query, *digest_choice(subs.get("digest")))
        return
    if action is NtAction.ZONES:
        await state.clear()
        await show_in_place(query, *zones_view())
        return
    if action is NtAction.ZONE_ASK:
        await ask(query, state, NotifyForm.zone, zone_prompt())
        return
    if action is NtAction.WATCH:
        # What the account is watched for, and stopping a kind for everyone: admins only.
        if role < WATCHES:
            raise RoleTooLow(WATCHES, role)
        if value and value not in KINDS:
            raise StaleButton("unknown notification kind")
        if value:
            await notifier.stop_watching(account, value)
        await state.clear()
        await show_in_place(query, *watch_view(await notifier.watched(account)))
        return
    if action is NtAction.SETTINGS:
        await state.clear()
        await show_in_place(query, *await card(notifier, chat_id, account, role))
        return
    if action is NtAction.CARD:
        # Under a notification: the settings come as a new message, the notification stays.
        await state.clear()
        await send_to_chat(query, *await card(notifier, chat_id, account, role))
        return
    if action is NtAction.SENDERS and value == "1":
        await _may_ask(notifier, account, role, "senders")
    elif action is NtAction.TIME:
        await _may_ask(notifier, account, role, "digest")
    await _remember(notifier, chat_id, i18n)
    if action is NtAction.BALANCE_OFF:
        await _change(notifier, chat_id, account, role, "balance", False)
    elif action is NtAction.SENDERS:
        await _change(notifier, chat_id, account, role, "senders", value == "1")
    elif action is NtAction.DIGEST and value == "off":
        await _change(notifier, chat_id, account, role, "digest", False)
    elif action is NtAction.TIME:
        if value not in (DAILY, WEEKLY) or not 0 <= callback_data.minute < 24 * 60:
            raise StaleButton("malformed digest time")
        await _change(
            notifier,
            chat_id,
            account,
            role,
            "digest",
            True,
            param=value,
            at_minute=callback_data.minute,
        )
    elif action is NtAction.ZONE:
        if zone(value) is None:
            raise StaleButton("unknown zone")
        await notifier.set_zone(chat_id, value)
    else:
        raise StaleButton("unknown notification button")
    await state.clear()
    text, markup = await card(notifier, chat_id, account, role)
    await show_in_place(query, text, markup)


async def _typed_on(
    message: Message,
    state: FSMContext,
    kind: str,
    params: dict[str, Any],
    *,
    notifier: Notifier,
    account: Account,
    role: Role,
    i18n: I18n,
    **_data: Any,
) -> None:
    """A parameter typed right: the kind switched on with it, and the settings shown."""
    await state.clear()
    await _remember(notifier, message.chat.id, i18n)
    await _change(notifier, message.chat.id, account, role, kind, True, **params)
    await _changed_answer(message, notifier, account, role)


def _threshold(text: str, data: dict[str, Any]) -> dict[str, Any] | None:
    amount = parse_threshold(text, english=current_locale() == "en")
    return None if amount is None else {"param": str(amount)}


def _digest_time(text: str, data: dict[str, Any]) -> dict[str, Any] | None:
    minute = parse_time(text)
    if minute is None:
        return None
    period = str(data.get("period", DAILY))
    return {"param": period if period in (DAILY, WEEKLY) else DAILY, "at_minute": minute}


Reader = Callable[[str, dict[str, Any]], dict[str, Any] | None]
# A step taking a kind's parameter: the kind, how the text is read (with the step's data; None
# when it cannot be), and the answer to a text that cannot.
_TYPED: Final[dict[str | None, tuple[str, Reader, Callable[[], str]]]] = {
    NotifyForm.threshold.state: ("balance", _threshold, threshold_problem),
    NotifyForm.time.state: ("digest", _digest_time, time_problem),
}


@router.message(
    StateFilter(NotifyForm.threshold, NotifyForm.time), NOT_COMMAND, flags={ACCOUNT_FLAG: True}
)
async def typed_parameter(message: Message, state: FSMContext, **data: Any) -> None:
    """A threshold or a digest time typed: read, and the kind switched on with it."""
    kind, read, problem = _TYPED[await state.get_state()]
    params = read(message.text or "", await state.get_data())
    if params is None:
        await message.answer(problem())
        return
    await _typed_on(message, state, kind, params, **data)


@router.message(NotifyForm.zone, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def typed_zone(
    message: Message, state: FSMContext, notifier: Notifier, account: Account, role: Role
) -> None:
    name = zone_name(message.text or "")
    if name is None:
        await message.answer(zone_problem())
        return
    await state.clear()
    await notifier.set_zone(message.chat.id, name)
    await _changed_answer(message, notifier, account, role)
