"""Texts and keyboards of /notify, and the notifications themselves (rendered from the payloads
``bot.services.notify`` queues, in the receiving chat's language)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.numbers import format_percent

from bot.commands import N_
from bot.formats import babel_locale
from bot.i18n import current_locale, fmt_date, fmt_money, fmt_number, fmt_range
from bot.sender_words import operator_label, operator_status_text
from bot.services.notify import DAILY, WEEKLY, ZONES
from bot.storage.notify import Sub
from bot.ui import button, esc, keyboard
from handlers.notify.data import Nt, NtAction

ZONE_NAMES: Final = {
    "Europe/Kaliningrad": N_("Kaliningrad"),
    "Europe/Kyiv": N_("Kyiv"),
    "Europe/Minsk": N_("Minsk"),
    "Europe/Moscow": N_("Moscow"),
    "Europe/Samara": N_("Samara"),
    "Asia/Yekaterinburg": N_("Yekaterinburg"),
    "Asia/Almaty": N_("Almaty"),
    "Asia/Novosibirsk": N_("Novosibirsk"),
    "Asia/Krasnoyarsk": N_("Krasnoyarsk"),
    "Asia/Irkutsk": N_("Irkutsk"),
    "Asia/Vladivostok": N_("Vladivostok"),
}
TIMES: Final = (7 * 60, 8 * 60, 9 * 60, 10 * 60, 18 * 60, 21 * 60)


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def zone_text(name: str) -> str:
    label = ZONE_NAMES.get(name)
    return _(label) if label is not None else name


def who_text(login: str) -> str:
    return f"<b>{esc(login)}</b>" if login else _("the account with the saved API key")


def _on(sub: Sub | None) -> bool:
    return sub is not None and sub.enabled


def digest_text(sub: Sub | None) -> str:
    if not _on(sub) or sub is None or sub.at_minute is None:
        return _("off")
    at = clock_text(sub.at_minute)
    if sub.param == WEEKLY:
        return _("weekly, on Mondays at {time}").format(time=at)
    return _("daily at {time}").format(time=at)


def card_view(
    login: str, subs: dict[str, Sub], tz: str, currency: str = "", *, team: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """The chat's settings; with ``team`` (an admin) the button to what the account watches."""
    balance, senders, digest = subs.get("balance"), subs.get("senders"), subs.get("digest")
    low = (
        _("below {amount}").format(amount=fmt_money(Decimal(balance.param), currency))
        if _on(balance) and balance is not None and balance.param
        else _("off")
    )
    lines = [
        _("<b>Notifications</b> about {account}").format(account=who_text(login)),
        "",
        _("Low balance: {value}").format(value=esc(low)),
        _("Sender name status at operators: {value}").format(
            value=_("on") if _on(senders) else _("off")
        ),
        _("Digest of what was sent and spent: {value}").format(value=esc(digest_text(digest))),
        _("Time zone: {zone}").format(zone=esc(zone_text(tz))),
        "",
        _("The bot checks the balance every few minutes and sender names every hour."),
    ]
    buttons = [
        button(_("Low balance"), Nt(action=NtAction.BALANCE)),
        button(
            _("Senders: turn off") if _on(senders) else _("Senders: turn on"),
            Nt(action=NtAction.SENDERS, value="0" if _on(senders) else "1"),
        ),
        button(_("Digest"), Nt(action=NtAction.DIGEST)),
        button(_("Time zone"), Nt(action=NtAction.ZONES)),
    ]
    if team:
        buttons.append(button(_("For the whole team"), Nt(action=NtAction.WATCH)))
    return "\n".join(lines), keyboard(buttons, 2)


# The card's own lines, one per kind.
KIND_LINES: Final = {
    "balance": N_("Low balance: {value}"),
    "senders": N_("Sender name status at operators: {value}"),
    "digest": N_("Digest of what was sent and spent: {value}"),
}
STOP_LABELS: Final = {
    "balance": N_("Stop: low balance"),
    "senders": N_("Stop: sender names"),
    "digest": N_("Stop: digest"),
}


def watch_view(watched: set[str]) -> tuple[str, InlineKeyboardMarkup]:
    """What the account is watched for, for everyone in the team, with a stop for each."""
    lines = [_("<b>For the whole team</b>: what the bot watches on this account."), ""]
    for kind, line in KIND_LINES.items():
        lines.append(_(line).format(value=_("on") if kind in watched else _("off")))
    lines += [
        "",
        _(
            "Stopping one stops it for every member, and the bot no longer checks it. It starts "
            "again when an admin switches it on for themselves; each member's own choice is kept."
        ),
    ]
    buttons = [
        button(_(label), Nt(action=NtAction.WATCH, value=kind))
        for kind, label in STOP_LABELS.items()
        if kind in watched
    ]
    buttons.append(back_button())
    return "\n".join(lines), keyboard(buttons, 1)


def back_button() -> InlineKeyboardButton:
    """Back to the notification settings (a step waiting for typed text ends)."""
    return button(_("Back"), Nt(action=NtAction.SETTINGS))


def threshold_prompt(enabled: bool) -> tuple[str, InlineKeyboardMarkup | None]:
    text = _(
        "Send the amount: when the balance falls below it, I will tell you once. "
        "The next alert comes only after the balance has been 10% above it again."
    )
    text += "\n" + _("/cancel to stop.")
    if not enabled:
        return text, None
    return text, keyboard([button(_("Turn off"), Nt(action=NtAction.BALANCE_OFF))])


def threshold_problem() -> str:
    return _("That is not an amount. Send a number such as 500 or 1500.50, or /cancel.")


def digest_choice(sub: Sub | None) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "The digest: messages sent and money spent, compared with the period before, and the "
        "subclients that spent most. Daily covers the day before, weekly the week before."
    )
    buttons = [
        button(_("Daily"), Nt(action=NtAction.DIGEST, value=DAILY)),
        button(_("Weekly"), Nt(action=NtAction.DIGEST, value=WEEKLY)),
    ]
    if _on(sub):
        buttons.append(button(_("Turn off"), Nt(action=NtAction.DIGEST, value="off")))
    return text, keyboard(buttons, 3, [back_button()])


def time_prompt(period: str, tz: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _("At what time? Tap one or send a time such as 09:30 ({zone} time).").format(
        zone=esc(zone_text(tz))
    )
    buttons = [
        button(clock_text(m), Nt(action=NtAction.TIME, value=period, minute=m)) for m in TIMES
    ]
    return text, keyboard(buttons, 3, [back_button()])


def time_problem() -> str:
    return _("That is not a time. Send it as hours and minutes, such as 09:30, or /cancel.")


def zones_view() -> tuple[str, InlineKeyboardMarkup]:
    buttons = [button(zone_text(name), Nt(action=NtAction.ZONE, value=name)) for name in ZONES]
    buttons.append(button(_("Another zone"), Nt(action=NtAction.ZONE_ASK)))
    text = _("Your time zone: the digest comes at the time you chose in it.")
    return text, keyboard(buttons, 3, [back_button()])


def zone_prompt() -> str:
    return (
        _("Send the name of the time zone, such as Europe/Berlin or Asia/Tashkent.")
        + "\n"
        + _("/cancel to stop.")
    )


def zone_problem() -> str:
    return _(
        "I do not know that time zone. Send a name such as Europe/Berlin or Asia/Tashkent, "
        "or /cancel."
    )


# -- the notifications -------------------------------------------------------------------------


def render(payload: dict[str, Any]) -> str:
    """The text of a queued notification in the active language."""
    kind = payload.get("kind")
    who = who_text(str(payload.get("login", "")))
    if kind == "balance":
        currency = str(payload.get("currency", ""))
        return _(
            "⚠️ The balance of {account} is {balance}, below {threshold}. Campaigns stop when "
            "it reaches zero: top it up in your SMSC account (/balance shows it again)."
        ).format(
            account=who,
            balance=esc(fmt_money(Decimal(str(payload["balance"])), currency)),
            threshold=esc(fmt_money(Decimal(str(payload["threshold"])), currency)),
        )
    if kind == "senders":
        lines = [_("Sender names of {account} changed status:").format(account=who)]
        for name, operator, old, new in payload.get("changes", []):
            lines.append(
                _("• {name} at {operator}: {new} (was: {old})").format(
                    name=f"<b>{esc(name)}</b>",
                    operator=esc(operator_label(str(operator))),
                    new=esc(operator_status_text(int(new))),
                    old=esc(operator_status_text(int(old))),
                )
            )
        return "\n".join(lines)
    if kind == "refused":
        return _(
            "SMSC no longer accepts the saved password (or API key) of {account}, so I have "
            "stopped checking it for notifications. If it was changed on SMSC's site, send the "
            "new one with /login."
        ).format(account=who)
    if kind == "digest":
        return digest_message(payload)
    return _("A notification this version of the bot cannot show.")


def _change(now: Decimal, before: Decimal) -> str:
    if before == 0:
        return "—" if now == 0 else "+" + fmt_number(now)
    share = ((now - before) / before).quantize(Decimal("0.01"))
    # Babel writes per cent as the language does: "75%" in English, "75 %" in Russian.
    sign = "+" if share > 0 else ""
    return sign + format_percent(share, locale=babel_locale(current_locale()))


def digest_message(payload: dict[str, Any]) -> str:
    figures, previous = payload["figures"], payload.get("previous") or {}
    start, end = date.fromisoformat(payload["start"]), date.fromisoformat(payload["end"])
    currency = str(figures.get("currency", ""))
    spent = Decimal(str(figures.get("spent", "0")))
    sms = int(figures.get("sms", 0))
    if payload.get("period") == WEEKLY:
        title = _("<b>Week {period}</b>, {account}").format(
            period=esc(fmt_range(start, end)), account=who_text(payload["login"])
        )
        against = _("Against the week before: messages {sms}, money spent {money}.")
    else:
        title = _("<b>{day}</b>, {account}").format(
            day=esc(fmt_date(start)), account=who_text(payload["login"])
        )
        against = _("Against the day before: messages {sms}, money spent {money}.")
    lines = [title]
    if payload.get("late"):
        lines.append(_("(late: the bot was not running when this digest was due)"))
    lines.append("")
    own = bool(figures.get("own"))
    if not sms and not spent:
        if own:
            lines.append(_("Nothing was sent in this period."))
        else:
            lines.append(_("Your subclients sent nothing in this period."))
    else:
        if own:
            sent = ngettext(
                "Sent {n} message, spent {amount}.", "Sent {n} messages, spent {amount}.", sms
            )
        else:
            sent = ngettext(
                "Subclients sent {n} message and spent {amount}.",
                "Subclients sent {n} messages and spent {amount}.",
                sms,
            )
        lines.append(sent.format(n=fmt_number(sms), amount=esc(fmt_money(spent, currency))))
        if previous:
            lines.append(
                against.format(
                    sms=_change(Decimal(sms), Decimal(int(previous.get("sms", 0)))),
                    money=_change(spent, Decimal(str(previous.get("spent", "0")))),
                )
            )
        top = figures.get("top") or []
        if top:
            lines += ["", _("Spent most:")]
            for place, (login, count, amount) in enumerate(top, 1):
                lines.append(
                    f"{place}. {esc(login)} — {esc(fmt_money(Decimal(str(amount)), currency))}, "
                    + ngettext("{n} message", "{n} messages", int(count)).format(
                        n=fmt_number(int(count))
                    )
                )
    return "\n".join(lines)


def open_markup() -> InlineKeyboardMarkup:
    """Under a notification: the settings, to change or stop them."""
    return keyboard([button(_("Settings"), Nt(action=NtAction.CARD))])
