"""Lenient parsing of SMSC answers: numbers as strings, empty fields, odd separators."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.smsc.models import (
    Balance,
    BlackEntry,
    BlackType,
    Contact,
    Group,
    Sender,
    SenderOperators,
    SenderStatus,
    StatAllRow,
    StatRow,
)


def test_numbers_that_arrive_as_strings() -> None:
    assert Balance.model_validate({"balance": "250.80", "currency": "RUB"}).balance == Decimal(
        "250.80"
    )
    assert Balance.model_validate({"balance": 250.8}).balance == Decimal("250.8")
    group = Group.model_validate({"id": "17", "name": "A", "number": "", "cnt": "12"})
    assert (group.id, group.number, group.cnt) == (17, None, 12)
    entry = BlackEntry.model_validate(
        {"id": "5", "phone": "79001112233", "type": "2", "comment": None}
    )
    assert (entry.type, entry.comment) == (BlackType.SINGLE, "")


def test_contact_groups_phones_and_birthday_in_every_shape() -> None:
    contact = Contact.model_validate(
        {"id": "3", "phone": "79001112233, 79004445566", "group": "4,9", "birthday": "01.02.1999"}
    )
    assert contact.phones == ["79001112233", "79004445566"]
    assert contact.groups == [4, 9]
    assert contact.birthday == date(1999, 2, 1)
    assert Contact.model_validate({"id": 1, "group": 7, "birthday": ""}).groups == [7]
    assert Contact.model_validate({"id": 1, "group": "", "phone": ""}).groups == []


def test_sender_operator_statuses_are_collected() -> None:
    entry = SenderOperators.model_validate(
        {
            "sender": "Shop",
            "id": "8",
            "mts_step": "2",
            "bee_step": "255",
            "tele2": "",
            "ua_reg": "x",
        }
    )
    assert entry.id == 8
    assert entry.statuses == {"mts_step": 2, "bee_step": 255}
    assert (
        Sender.model_validate({"sender": "Shop", "id": 8, "status": "1"}).status
        is SenderStatus.APPROVED
    )


def test_stat_fields_are_named_by_meaning() -> None:
    row = StatRow.model_validate(
        {"login": "sub", "sms": "10", "credit": "4.50", "debit": "100", "currency": "RUB"}
    )
    assert (row.sms, row.spent, row.credited) == (10, Decimal("4.50"), Decimal("100"))
    full = StatAllRow.model_validate(
        {"login": "sub", "items": [{"operator": "МТС", "sms": "3", "credit": "1.2", "debit": "0"}]}
    )
    assert full.items[0].spent == Decimal("1.2")
