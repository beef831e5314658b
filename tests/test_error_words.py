"""SMSC's error codes in words, per script and command, as each page's table defines them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.errors import smsc_error_text
from bot.i18n import build_i18n
from bot.smsc import SmscError

_I18N = build_i18n()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with _I18N.context(), _I18N.use_locale("en"):
        yield


def words(command: str, code: int) -> str:
    return smsc_error_text(SmscError(command, code))


# Each page's table: code → words the user reads (the pages' own meaning).
PAGES = {
    "phones.add": {
        1: "one of the values is not valid",
        2: "no longer accepts the saved login",
        3: "found no such record",
        4: "temporarily blocked",
        5: "could not carry out the operation",
        9: "wait a minute",
    },
    "senders.send_code": {
        1: "one of the values is not valid",
        3: "no such sender name",
        5: "could not save or delete",
        7: "not a phone number SMSC can send a code to",
        8: "cannot deliver a confirmation code",
        9: "wait a minute",
        10: "already sent",
        11: "code is wrong",
    },
    "users.pay": {
        3: "found no such record",
        5: "could not carry out the operation",
        6: "no subclient with this login",
        7: "uses the main account's balance, so it cannot be topped up",
        8: "could not save the subclient",
        9: "wait a minute",
        10: "not enough money on the main account",
    },
    "templates.chg": {
        1: "one of the values is not valid",
        3: "found no such record",
        5: "could not save or delete",
        9: "wait a minute",
    },
    "balance.balance": {1: "not valid", 4: "temporarily blocked", 9: "wait a minute"},
}


@pytest.mark.parametrize(
    ("command", "code", "expected"),
    [(command, code, text) for command, table in PAGES.items() for code, text in table.items()],
)
def test_each_pages_table(command: str, code: int, expected: str) -> None:
    assert expected in words(command, code)


def test_seven_and_eight_mean_different_things_on_senders_and_users() -> None:
    assert "not a phone number in a valid format" in words("senders.add", 7)
    assert "electronic balance" in words("users.chg", 7)
    assert "no statistics of its own" in words("users.get_stat_all", 7)
    assert "could not save the subclient" in words("users.add", 8)
    assert "cannot deliver" in words("senders.send_code", 8)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("phones.add_black", 6),
        ("phones.get", 7),
        ("phones.del", 10),
        ("phones.add", 11),
        ("templates.chg", 6),
        ("templates.add", 8),
        ("senders.add", 6),
        ("balance.balance", 3),
        ("users.chg", 11),
    ],
)
def test_a_code_a_page_does_not_list_is_shown_as_a_number(command: str, code: int) -> None:
    assert words(command, code) == f"SMSC answered with error {code}."


def test_the_clients_own_refusals_keep_their_words() -> None:
    assert "wait a minute" in smsc_error_text(SmscError("balance.balance", 9, local=True))
