"""``/sys/senders.php``: sender names, their moderation and the codes confirming digital names."""

from __future__ import annotations

import re

from .state import OPERATOR_FIELDS, Call, Sender, is_set, parse_int
from .wire import Answer, ApiError, Row, created, found, ok, table

_ALPHA_NAME = re.compile(r"^[A-Za-z0-9 .\-_!?&']{1,11}$")
_DIGITAL_NAME = re.compile(r"^\d{1,15}$")
_PHONE_NAME = re.compile(r"^\d{10,15}$")

# The page's fmt=0 and fmt=2 answers list the operator fields in this order, fmt=3 in another.
_TEXT_OPERATOR_ORDER = (
    "mega_step",
    "bee_step",
    "motiv_step",
    "sber_step",
    "winmob_step",
    "volnamob_step",
    "mts_step",
    "tele2_step",
    "tele2",
    "ua_reg",
    "ua_int",
    "mega_int",
    "motiv_int",
    "mts_int",
    "motiv",
    "by_reg",
    "by_int",
    "tele2_int",
    "sber_int",
)


def valid_name(name: str) -> bool:
    """Up to 11 Latin letters, digits and `` .-_!?&'`` with a letter, or up to 15 digits."""
    if _DIGITAL_NAME.match(name):
        return True
    return bool(_ALPHA_NAME.match(name)) and any(ch.isalpha() for ch in name)


def handle(call: Call) -> Answer:
    """Run the senders.php command the parameters name."""
    params = call.params
    if is_set(params, "get"):
        return _get(call)
    if is_set(params, "add"):
        return _add(call)
    if is_set(params, "chg"):
        _find(call).comment = params.get("cmt", "")
        return ok()
    if is_set(params, "del"):
        del call.account.senders[_find(call).id]
        return ok()
    if is_set(params, "send_code"):
        return _send_code(call)
    if is_set(params, "check_code"):
        return _check_code(call)
    raise ApiError(1)


def _find(call: Call) -> Sender:
    params, account = call.params, call.account
    if params.get("id", "").strip():
        sender = account.senders.get(parse_int(params["id"], 0))
    elif params.get("sender", "").strip():
        sender = account.sender_by_name(params["sender"].strip())
    else:
        raise ApiError(1)
    return found(sender)


def _get(call: Call) -> Answer:
    senders = sorted(call.account.senders.values(), key=lambda s: s.id)
    if is_set(call.params, "operators"):
        rows: list[Row] = [
            {
                "sender": s.name,
                **{k: s.replacements.get(k, str(s.operators[k])) for k in OPERATOR_FIELDS},
                "id": str(s.id),
            }
            for s in senders
        ]
        order: tuple[str, ...] = ("sender", *_TEXT_OPERATOR_ORDER, "id")
    elif is_set(call.params, "all"):
        rows = [{"sender": s.name, "status": s.status, "id": s.id} for s in senders]
        order = ("sender", "status", "id")
    else:
        # Without all=1 the page promises only names admitted for use.
        rows = [{"sender": s.name, "id": s.id} for s in senders if s.status == 1]
        order = ("sender", "id")
    if not rows:
        raise ApiError(3, "no records found")
    return table(rows, "sender", text_order=order, labels={"sender": "name"}, xml_text="sender")


def _add(call: Call) -> Answer:
    name = call.params.get("sender", "").strip()
    if not valid_name(name):
        raise ApiError(1)
    if call.account.sender_by_name(name) is not None:
        raise ApiError(5, "sender name already exists")
    sender = Sender(call.account.new_id("sender"), name, comment=call.params.get("cmt", ""))
    call.account.senders[sender.id] = sender
    return created(sender.id, "sender", json_key="sender")


def _send_code(call: Call) -> Answer:
    sender = _find(call)
    if not _PHONE_NAME.match(sender.name):
        raise ApiError(7)
    desk = call.codes
    if sender.name in desk.undeliverable:
        raise ApiError(8)
    sent_at = desk.sent_at.get(sender.name)
    if sent_at is not None and call.now - sent_at < desk.retry_after:
        raise ApiError(10)
    desk.sent_codes[sender.name] = f"{desk.rng.randrange(10**5, 10**6)}"
    desk.sent_at[sender.name] = call.now
    return ok()


def _check_code(call: Call) -> Answer:
    sender = _find(call)
    code = call.params.get("code", "").strip()
    if not code or call.codes.sent_codes.get(sender.name) != code:
        raise ApiError(11)
    sender.status = 1
    return ok()
