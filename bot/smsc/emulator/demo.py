"""The demo account: enough of everything for every screen of the bot to show something."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from .state import (
    OPERATOR_FIELDS,
    Account,
    Contact,
    Group,
    LedgerEntry,
    Sender,
    SentSms,
    Subclient,
    Template,
)

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - public demo credentials
DEMO_APIKEY = "demo-api-key-0123456789"
# A digital sender name of the demo account to which a confirmation code "cannot be delivered".
DEMO_UNDELIVERABLE = "79000000000"

OPERATORS = (
    ("МТС", "25001", Decimal("2.15")),
    ("МегаФон", "25002", Decimal("2.30")),
    ("Билайн", "25099", Decimal("2.25")),
    ("Tele2", "25020", Decimal("1.95")),
)

_GROUPS = (("Клиенты", 1), ("VIP", 2), ("Newsletter", 0))
# phones, name, groups (indexes into _GROUPS), last, first, middle, birthday, comment, tags
_CONTACTS: tuple[tuple[str, str, tuple[int, ...], str, str, str, str, str, str], ...] = (
    ("79161234501", "Иван Петров", (0, 1), "Петров", "Иван", "Сергеевич", "12.04.1985", "", "опт"),
    ("79161234502", "Мария Иванова", (0,), "Иванова", "Мария", "", "03.11.1990", "", ""),
    ("79261234503,79031234503", "Алексей Смирнов", (0, 2), "Смирнов", "Алексей", "", "", "", ""),
    ("79031234504", "Ольга Кузнецова", (1,), "Кузнецова", "Ольга", "Петровна", "", "VIP", ""),
    ("79051234505", "John Smith", (2,), "Smith", "John", "", "", "", "en"),
    ("79091234506", "Елена Соколова", (0,), "Соколова", "Елена", "", "21.07.1979", "", ""),
    ("79121234507", "Дмитрий Попов", (), "Попов", "Дмитрий", "", "", "new", ""),
    ("79161234508", "Anna Lee", (2,), "Lee", "Anna", "", "", "", ""),
    ("79201234509", "Сергей Волков", (0, 1), "Волков", "Сергей", "", "", "", "опт"),
    ("79221234510", "Наталья Морозова", (0,), "Морозова", "Наталья", "", "", "", ""),
    ("77011234511", "Айгуль Нурланова", (2,), "Нурланова", "Айгуль", "", "", "Алматы", ""),
    ("79991234512", "Office", (), "", "", "", "", "reception", ""),
)
# Eight entries of each blocking type (0 all, 1 mass mailings, 2 single messages): enough to page.
_BLACK_COMMENTS = ("просил не писать", "", "жалоба", "отписался", "", "only mailings", "", "спам")
_BLACK = tuple(
    (f"7916{kind}00{n:04d}", kind, _BLACK_COMMENTS[(n + kind) % len(_BLACK_COMMENTS)])
    for n in range(1, 9)
    for kind in (0, 1, 2)
)
# name, status, comment, operator statuses (unlisted operators: 0)
_SENDERS: tuple[tuple[str, int, str, dict[str, int]], ...] = (
    ("SMSC", 1, "основное имя", dict.fromkeys(OPERATOR_FIELDS, 2)),
    (
        "MyShop",
        1,
        "магазин",
        {"mts_step": 2, "mega_step": 2, "bee_step": 1, "tele2_step": 3, "tele2": 8, "motiv": 9},
    ),
    ("Promo-24", 0, "", {"mts_step": 1, "mega_step": 5, "bee_step": 0, "tele2_step": 1}),
    ("OldBrand", 2, "не используется", {"mts_step": 4, "mega_step": 255, "bee_step": 3}),
    ("79991234567", 1, "номер офиса", {"mts_step": 2, "mega_step": 2, "bee_step": 2}),
    ("79995550101", 0, "ждёт кода", {}),
    (DEMO_UNDELIVERABLE, 0, "недоступный номер", {}),
)
_TEMPLATES = (
    ("Приветствие", "Здравствуйте! Спасибо, что выбрали нас.", "sms", "SMSC", 0),
    ("Скидка", "Только сегодня скидка 20% по коду SALE20", "viber", "MyShop", 0),
    ("Подпись", "-- MyShop, +7 495 000-00-00", "", "", 1),
)
# login, type, own balance, sms per active day range, top-ups (days ago, amount)
_SUBCLIENTS: tuple[tuple[str, int, Decimal, tuple[int, int], tuple[tuple[int, int], ...]], ...] = (
    ("shop-msk", 0, Decimal("340.00"), (5, 40), ((55, 1500), (25, 1000), (4, 500))),
    ("shop-spb", 1, Decimal("85.20"), (2, 15), ((50, 800), (12, 600))),
    ("callcenter", 2, Decimal("0"), (10, 60), ()),
    ("marketing", 3, Decimal("0"), (20, 120), ()),
)


def build_demo_account(
    login: str = DEMO_LOGIN, password: str = DEMO_PASSWORD, apikey: str | None = DEMO_APIKEY
) -> Account:
    """A fresh demo account; ledger dates are relative to today."""
    account = Account(login, password, apikey, Decimal("1250.50"), "RUB")
    group_ids: list[int] = []
    for (
        name,
        number,
    ) in _GROUPS:
        group = Group(account.new_id("group"), name, number)
        account.groups[group.id] = group
        group_ids.append(group.id)
    for phones, name, groups, last, first, middle, birthday, comment, tags in _CONTACTS:
        contact = Contact(
            account.new_id("contact"),
            phones.split(","),
            name,
            [group_ids[i] for i in groups],
            first,
            last,
            middle,
            birthday,
            comments=comment,
            tags=tags,
        )
        account.contacts[contact.id] = contact
    for phone, kind, comment in _BLACK:
        account.add_black(phone, kind, comment)
    for name, status, comment, operators in _SENDERS:
        sender = Sender(account.new_id("sender"), name, status, comment)
        sender.operators.update(operators)
        account.senders[sender.id] = sender
    for name, message, fmt, sender_name, flag in _TEMPLATES:
        template = Template(account.new_id("template"), name, message, fmt, sender_name, flag)
        account.templates[template.id] = template
    # A fixed seed keeps the demo statistics the same from run to run (dates aside).
    rng = random.Random(1250)
    today = date.today()
    for login, kind, balance, sms_range, top_ups in _SUBCLIENTS:
        sub = Subclient(account.new_id("user"), login, "Demo-pass-1", kind, balance=balance)
        sub.ledger = _ledger(rng, today, sms_range, top_ups)
        account.subclients[login] = sub
    _own_messages(account, rng, today)
    return account


# Texts of the demo account's own messages (the history of a number, its statistics).
_TEXTS = (
    "Ваш заказ №{n} принят. Спасибо!",
    "Код подтверждения: {n}",
    "Напоминаем о записи завтра в 10:00.\nОтветьте 1, чтобы подтвердить.",
    "Your order #{n} has shipped.",
)


def _own_messages(account: Account, rng: random.Random, today: date) -> None:
    """A year of the account's own messages to the demo contacts: a few a day, some failed."""
    phones = [c.phones[0] for c in account.contacts.values()]
    now = datetime.now()
    start = datetime.combine(today - timedelta(days=365), datetime.min.time())
    for day in range(366):
        for _ in range(rng.randint(0, 6)):
            when = start + timedelta(days=day, minutes=rng.randint(8 * 60, 21 * 60))
            if when > now:
                continue
            status = rng.choice((1, 1, 1, 1, 1, 0, 20, 22))
            account.sent.append(
                SentSms(
                    0,
                    rng.choice(phones),
                    when,
                    rng.choice(_TEXTS).format(n=rng.randint(1000, 9999)),
                    "SMSC.RU",
                    status,
                    err=0 if status in (0, 1) else rng.choice((1, 6, 13)),
                    cost=rng.choice(OPERATORS)[2],
                )
            )
    account.sent.sort(key=lambda m: m.when)
    for message in account.sent:
        message.int_id = account.new_id("message")


def _ledger(
    rng: random.Random,
    today: date,
    sms_range: tuple[int, int],
    top_ups: tuple[tuple[int, int], ...],
) -> list[LedgerEntry]:
    entries = [
        LedgerEntry(today - timedelta(days=days), "Пополнение баланса", debit=Decimal(amount))
        for days, amount in top_ups
    ]
    for days_ago in range(60, -1, -1):
        if rng.random() < 0.6:
            continue
        day = today - timedelta(days=days_ago)
        for operator, mccmnc, price in rng.sample(OPERATORS, rng.randint(1, len(OPERATORS))):
            sms = rng.randint(*sms_range)
            entries.append(LedgerEntry(day, "Отправка SMS", operator, mccmnc, sms, sms * price))
    return sorted(entries, key=lambda e: e.day)
