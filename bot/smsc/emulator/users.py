"""``/sys/users.php``: subclients, payments to them and their statistics."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from .state import (
    Account,
    Call,
    LedgerEntry,
    Subclient,
    is_set,
    money,
    parse_date,
    parse_int,
    parse_money,
)
from .wire import Answer, ApiError, Params, Row, created, found, ok, table

_LOGIN = re.compile(r"^\S{1,40}$")
OWN_BALANCE_TYPES = (0, 1)
PAY_DESCRIPTION = "Пополнение баланса"


def valid_password(password: str) -> bool:
    """At least 8 characters and three of: lower case, upper case, digits, other symbols."""
    classes = (
        any(ch.islower() for ch in password),
        any(ch.isupper() for ch in password),
        any(ch.isdigit() for ch in password),
        any(not ch.isalnum() for ch in password),
    )
    return len(password) >= 8 and sum(classes) >= 3


def handle(call: Call) -> Answer:
    """Run the users.php command the parameters name."""
    params = call.params
    if is_set(params, "add"):
        return _add(call.account, params)
    if is_set(params, "chg"):
        return _chg(call.account, params)
    if is_set(params, "pay"):
        return _pay(call.account, params)
    if is_set(params, "get_stat_all"):
        return _get_stat_all(call.account, params)
    if is_set(params, "get_stat"):
        return _get_stat(call.account, params)
    raise ApiError(1)


def _login_free(account: Account, login: str) -> bool:
    return login != account.login and login not in account.subclients


def _type(params: Params, default: int) -> int:
    kind = parse_int(params.get("type"), default)
    if kind not in range(5):
        raise ApiError(1)
    return kind


def _apply(sub: Subclient, params: Params) -> None:
    if "password" in params:
        if not valid_password(params["password"]):
            raise ApiError(1, "password too simple")
        sub.password = params["password"]
    sub.type = _type(params, sub.type)
    for key in ("phone", "email", "fio", "fmts"):
        if key in params:
            setattr(sub, key, params[key].strip())
    for key in params:
        # fl[N]=1 sets permission N (fl[29]: may use the main account's sender names).
        if key.startswith("fl[") and key.endswith("]"):
            bit = parse_int(key[3:-1], -1)
            if is_set(params, key):
                sub.flags.add(bit)
            else:
                sub.flags.discard(bit)


def _add(account: Account, params: Params) -> Answer:
    login = params.get("user", "").strip()
    if not _LOGIN.match(login) or not params.get("password"):
        raise ApiError(1)
    if not _login_free(account, login):
        raise ApiError(5, "login already exists")
    sub = Subclient(0, login, "", currency=account.currency)
    _apply(sub, params)
    sub.id = account.new_id("user")
    account.subclients[login] = sub
    return created(sub.id, "user")


def _find(account: Account, params: Params) -> Subclient:
    login = params.get("user", "").strip()
    if not login:
        raise ApiError(1)
    return found(account.subclients.get(login), 6)


def _chg(account: Account, params: Params) -> Answer:
    sub = _find(account, params)
    new_login = params.get("new_login", "").strip()
    if new_login and new_login != sub.login:
        if not _LOGIN.match(new_login):
            raise ApiError(1)
        if not _login_free(account, new_login):
            raise ApiError(5, "login already exists")
    # Validate everything before changing anything, so an error leaves the subclient as it was.
    probe = replace(sub, flags=set(sub.flags))
    _apply(probe, params)
    if new_login:
        probe.login = new_login
    del account.subclients[sub.login]
    account.subclients[probe.login] = probe
    return ok()


def _pay(account: Account, params: Params) -> Answer:
    sub = _find(account, params)
    amount = parse_money(params.get("sum"))
    if sub.shares_main_balance:
        raise ApiError(7)
    if account.balance < amount:
        raise ApiError(10)
    account.balance -= amount
    sub.balance += amount
    sub.ledger.append(LedgerEntry(date.today(), PAY_DESCRIPTION, debit=amount))
    return ok()


def _period(params: Params) -> tuple[date, date]:
    today = date.today()
    start_text, end_text = params.get("start", "").strip(), params.get("end", "").strip()
    # No start: the pages are silent; the current month is what SMSC's statistics page shows.
    start = parse_date(start_text) if start_text else today.replace(day=1)
    end = parse_date(end_text) if end_text else today
    if start > end:
        raise ApiError(1)
    return start, end


def _selected(account: Account, params: Params) -> list[Subclient]:
    # The page: plain get_stat covers subclients sharing the main balance, reseller=1 those with
    # their own; a user= request is answered within that selection too.
    own = is_set(params, "reseller")
    if params.get("user", "").strip():
        found = [_find(account, params)]
    elif params.get("user_id", "").strip():
        user_id = parse_int(params["user_id"], 0)
        found = [s for s in account.subclients.values() if s.id == user_id]
        if not found:
            raise ApiError(6)
    else:
        subs = [s for s in account.subclients.values() if (s.type in OWN_BALANCE_TYPES) == own]
        return sorted(subs, key=lambda s: s.id)
    if (found[0].type in OWN_BALANCE_TYPES) != own:
        # Error 7: "a sublogin that shares a balance with the main account is specified";
        # an own-balance subclient is simply not among those sharing it.
        raise ApiError(7 if own else 3)
    return found


def _in_period(sub: Subclient, start: date, end: date) -> list[LedgerEntry]:
    return [e for e in sub.ledger if start <= e.day <= end]


def _totals(sub: Subclient, entries: Iterable[LedgerEntry]) -> dict[str, str]:
    entries = list(entries)
    return {
        "sms": str(sum(e.sms for e in entries)),
        "credit": money(sum((e.credit for e in entries), Decimal("0"))),
        "debit": money(sum((e.debit for e in entries), Decimal("0"))),
        "currency": sub.currency,
    }


def _get_stat(account: Account, params: Params) -> Answer:
    start, end = _period(params)
    rows: list[Row] = [
        {"login": s.login, **_totals(s, _in_period(s, start, end))}
        for s in _selected(account, params)
    ]
    if not rows:
        raise ApiError(3)
    return table(rows, "stat")


def _items(sub: Subclient, start: date, end: date) -> list[dict[str, str]]:
    groups: dict[tuple[str, str, str], list[LedgerEntry]] = {}
    for entry in sorted(_in_period(sub, start, end), key=lambda e: e.day):
        groups.setdefault((entry.description, entry.operator, entry.mccmnc), []).append(entry)
    return [
        {"description": d, "operator": o, "mccmnc": m, **_totals(sub, entries)}
        for (d, o, m), entries in groups.items()
    ]


def _get_stat_all(account: Account, params: Params) -> Answer:
    start, end = _period(params)
    # A subclient without activity has no item and fmt 0/1 could not show it: it is left out.
    selected = ((s.login, _items(s, start, end)) for s in _selected(account, params))
    users = [(login, items) for login, items in selected if items]
    if not users:
        raise ApiError(3)
    fields = ("description", "operator", "mccmnc", "sms", "credit", "debit", "currency")
    lines0: list[str] = []
    lines1: list[str] = []
    xml = ["<list>"]
    for login, items in users:
        xml.append(f"<user login={quoteattr(login)}>")
        for item in items:
            lines0.append(", ".join([f"login = {login}", *(f"{k} = {item[k]}" for k in fields)]))
            lines1.append(",".join([login, *(item[k] for k in fields)]))
            xml.append("<item>")
            xml.extend(f"<{k}>{escape(item[k])}</{k}>" for k in fields)
            xml.append("</item>")
        xml.append("</user>")
    xml.append("</list>")
    json_value = [{"login": login, "items": items} for login, items in users]
    return Answer("\n".join(lines0), "\n".join(lines1), "\n".join(xml), json_value)
