"""``/sys/get.php``: the account's own statistics (``get_stat``) and the history of messages sent
(``get_messages``), as SMSC's "Getting data" pages describe them; and the helpers tests use to put
sent messages into an account."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from .state import Account, Call, SentSms, is_set, money, parse_date, parse_int, split_phones
from .wire import Answer, ApiError, Params, Row, table

MAX_CNT = 1000
DEFAULT_CNT = 100
HISTORY_MONTHS = 6
# status_name as SMSC writes it (its Russian site's words).
STATUS_NAMES = {
    -3: "Сообщение не найдено",
    -2: "Остановлено",
    -1: "Ожидает отправки",
    0: "Передано оператору",
    1: "Доставлено",
    2: "Прочитано",
    3: "Просрочено",
    4: "Нажата ссылка",
    20: "Невозможно доставить",
    22: "Неверный номер",
    23: "Запрещено",
    24: "Недостаточно средств",
    25: "Недоступный номер",
}
# The fields of one message in the order of the page's fmt=0/1 answers.
MESSAGE_FIELDS = (
    "status",
    "last_date",
    "last_timestamp",
    "err",
    "send_date",
    "send_timestamp",
    "phone",
    "cost",
    "sender_id",
    "status_name",
    "message",
    "sms_cnt",
    "id",
    "int_id",
)


def handle(call: Call) -> Answer:
    """Run the get.php command the parameters name."""
    if is_set(call.params, "get_stat"):
        return _get_stat(call.account, call.params)
    if is_set(call.params, "get_messages"):
        return _get_messages(call.account, call.params)
    raise ApiError(1)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _period(params: Params) -> tuple[date, date]:
    start_text, end_text = params.get("start", "").strip(), params.get("end", "").strip()
    if not start_text:
        raise ApiError(1)
    start = parse_date(start_text)
    # The page: "if omitted, data from the start date is returned".
    end = parse_date(end_text) if end_text else date.today()
    if start > end:
        raise ApiError(1)
    return start, end


def _get_stat(account: Account, params: Params) -> Answer:
    start, end = _period(params)
    sent = [m for m in account.sent if start <= m.when.date() <= end]
    ledger = [e for e in account.ledger if start <= e.day <= end]
    row: Row = {
        "login": account.login,
        "sms": str(sum(m.sms_cnt for m in sent) + sum(e.sms for e in ledger)),
        "credit": money(sum((m.cost for m in sent), Decimal(0)) + sum(e.credit for e in ledger)),
        "debit": money(sum((e.debit for e in ledger), Decimal(0))),
        "currency": account.currency,
    }
    return table([row], "stat")


def _row(message: SentSms) -> Row:
    stamp = int(message.when.timestamp())
    shown = message.when.strftime("%d.%m.%Y %H:%M:%S")
    return {
        "status": message.status,
        "last_date": shown,
        "last_timestamp": stamp,
        "err": message.err,
        "send_date": shown,
        "send_timestamp": stamp,
        "phone": message.phone,
        "cost": money(message.cost),
        "sender_id": message.sender,
        "status_name": STATUS_NAMES.get(message.status, ""),
        "message": message.message,
        "sms_cnt": message.sms_cnt,
        "id": message.int_id % 100_000,
        "int_id": message.int_id,
    }


def _get_messages(account: Account, params: Params) -> Answer:
    start, end = _period(params)
    if start < _months_before(end, HISTORY_MONTHS):
        raise ApiError(1, "the period is longer than six months")
    cnt = parse_int(params.get("cnt"), DEFAULT_CNT)
    if not 1 <= cnt <= MAX_CNT:
        raise ApiError(1)
    phone_text = params.get("phone", "").strip()
    phones = set(split_phones(phone_text)) if phone_text else None
    prev_id = parse_int(params.get("prev_id"), 0)
    found = [
        m
        for m in account.sent
        if start <= m.when.date() <= end
        and (phones is None or m.phone in phones)
        and (not prev_id or m.int_id < prev_id)
    ]
    found.sort(key=lambda m: m.int_id, reverse=True)
    if not found:
        raise ApiError(3)
    return table([_row(m) for m in found[:cnt]], "sms")


def seed_messages(
    account: Account,
    phone: str,
    count: int,
    *,
    last: datetime | None = None,
    every: timedelta = timedelta(minutes=7),
    texts: Iterable[str] = ("Ваш код: 1234",),
    sender: str = "SMSC.RU",
    status: int = 1,
    err: int = 0,
    cost: Decimal = Decimal("1.50"),
) -> list[SentSms]:
    """``count`` messages to ``phone`` (digits), the newest at ``last`` and each one ``every``
    before the next; texts taken in turn. Returns them oldest first."""
    texts = list(texts)
    newest = last or datetime.now().replace(microsecond=0)
    made = []
    for n in range(count):
        when = newest - every * (count - 1 - n)
        text = texts[n % len(texts)]
        made.append(
            SentSms(account.new_id("message"), phone, when, text, sender, status, err, cost)
        )
    account.sent.extend(made)
    return made
