"""Topping a subclient up: the amount, a confirmation record (it pays once, survives a restart),
and a check in SMSC's figures when the answer was lost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import StaleButton
from bot.i18n import fmt_money
from bot.middlewares import ACCOUNT_FLAG, ADMIN_FLAGS
from bot.services import subclients
from bot.services.confirmations import MONEY_TTL, ConfirmationService
from bot.services.subclients import Subclients
from bot.smsc import SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.smsc.models import StatRow
from bot.storage.accounts import Account
from bot.ui import NOT_COMMAND, Cf, ask, esc
from bot.ui import show_in_place as show
from handlers.confirm import Asked, Tap, ask_confirmation
from handlers.subclients.browse import figures_screen, login_for
from handlers.subclients.data import ScAct, ScAction, ScCheck, SubclientEdit
from handlers.subclients.views import check_markup, open_markup

router = Router(name="subclients.pay")


@router.callback_query(ScAct.filter(F.action == ScAction.PAY), flags=ADMIN_FLAGS)
async def start_pay(
    query: CallbackQuery, callback_data: ScAct, state: FSMContext, subs: Subclients
) -> None:
    login = await login_for(query, callback_data.ref, subs)
    if login is None:
        return
    balance = await subs.smsc.get_balance()
    prompt = (
        _("How much to move from your balance to <b>{login}</b>? You have {balance}.").format(
            login=esc(login), balance=esc(fmt_money(balance.balance, balance.currency))
        )
        + "\n"
        + _("/cancel to stop.")
    )
    await ask(
        query,
        state,
        SubclientEdit.amount,
        prompt,
        login=login,
        currency=balance.currency,
        balance=f"{balance.balance:.2f}",
    )


@router.message(SubclientEdit.amount, NOT_COMMAND, flags=ADMIN_FLAGS)
async def got_amount(
    message: Message,
    state: FSMContext,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    amount = subclients.parse_amount(message.text or "")
    if amount is None:
        await message.answer(_("Send the amount as a number, such as 500 or 250.50, or /cancel."))
        return
    data = await state.get_data()
    login, currency = str(data.get("login", "")), str(data.get("currency", ""))
    # SMSC would refuse it after the confirmation (error 10): say so before asking. The balance
    # is the one the question showed (balance reads are limited; SMSC checks again anyway).
    have = str(data.get("balance", ""))
    if have and amount > Decimal(have):
        await message.answer(
            _(
                "You have only {balance}: that is less than {amount}. "
                "Send a smaller amount, or /cancel."
            ).format(
                balance=esc(fmt_money(Decimal(have), currency)),
                amount=esc(fmt_money(amount, currency)),
            )
        )
        return
    await state.clear()
    # The question is a record of its own: it works after a restart and after /cancel, once.
    await ask_confirmation(
        message,
        {"confirmations": confirmations, "account": account},
        action="scpay",
        payload={"login": login, "amount": f"{amount:.2f}", "currency": currency},
        question=_("Move <b>{amount}</b> from your balance to <b>{login}</b>?").format(
            amount=esc(fmt_money(amount, currency)), login=esc(login)
        ),
        yes=_("Yes, top up"),
        ttl=MONEY_TTL,
    )


@router.callback_query(ScCheck.filter(), flags={ACCOUNT_FLAG: True})
async def check_pay(query: CallbackQuery, callback_data: ScCheck, subs: Subclients) -> None:
    """Today's money credited to the subclient and the main balance, as SMSC counts them now."""

    async def with_balance(login: str, row: StatRow | None) -> tuple[str, InlineKeyboardMarkup]:
        balance = await subs.smsc.get_balance()
        credited = row.credited if row is not None else Decimal(0)
        lines = [
            f"<b>{esc(login)}</b>",
            _("Credited today: {amount}.").format(
                amount=esc(fmt_money(credited, row.currency if row else balance.currency))
            ),
            _("Your balance: {balance}.").format(
                balance=esc(fmt_money(balance.balance, balance.currency))
            ),
            _("If the top-up is not in today's credit, it was not made: ask again."),
        ]
        return "\n".join(lines), check_markup(login)

    await figures_screen(query, callback_data.ref, subs, subclients.today_of, with_balance)


@router.callback_query(Cf.filter(), Asked("scpay"), flags=ADMIN_FLAGS)
async def confirm_pay(query: CallbackQuery, smsc: SmscClient, **data: Any) -> None:
    tap = Tap.of(query, data)
    login = tap.asked.payload.get("login", "")
    amount = subclients.parse_amount(tap.asked.payload.get("amount", ""))
    if amount is None:
        raise StaleButton("top-up record without an amount")

    async def nothing_moved() -> None:
        await show(query, _("Nothing was moved."), None)

    paid = await tap.settle(
        lambda: smsc.pay_subclient(login, amount),
        what="subclient.pay",
        target=login,
        detail=f"{amount:.2f}",
        check=check_markup(login),
        on_no=nothing_moved,
        refused=open_markup(login),
        progress=_("Topping up <b>{login}</b>…").format(login=esc(login)),
    )
    if not paid:
        return
    text = _("Done: {login} got {amount}.")
    try:
        balance = await smsc.get_balance()
    except (SmscError, SmscUnavailable, SmscBadResponse):
        # The money moved; only the new balance is missing from the answer.
        await show(
            query, text.format(login=esc(login), amount=esc(f"{amount:.2f}")), open_markup(login)
        )
        return
    await show(
        query,
        text.format(login=f"<b>{esc(login)}</b>", amount=esc(fmt_money(amount, balance.currency)))
        + "\n"
        + _("Your balance: {balance}.").format(
            balance=esc(fmt_money(balance.balance, balance.currency))
        ),
        open_markup(login),
    )
