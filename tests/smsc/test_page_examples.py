"""Each page's own fmt=3 example answer fed verbatim to the client, over HTTP (audit 4).

The emulator answers every request with the page's body (its "garbage" fault with
``garbage_body``), so only the client's reading is under test.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from bot.smsc import Credentials, SmscClient, SmscConnector, SmscError, SmscSettings
from bot.smsc.client import months_before
from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.get import seed_messages
from bot.smsc.models import BlackType, SenderStatus
from tests.conftest import LOGIN, ManualClock, closed_port


def answer(emulator: SmscEmulator, body: Any) -> None:
    """Every request from now on gets this JSON body."""
    emulator.fault = "garbage"
    emulator.garbage_body = json.dumps(body, ensure_ascii=False).encode()


# -- balance.php ---------------------------------------------------------------------------------


async def test_balance_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(emulator, {"balance": "250.80", "currency": "RUB"})
    balance = await smsc.get_balance()
    assert (balance.balance, balance.currency, balance.credit) == (Decimal("250.80"), "RUB", None)
    assert emulator.requests[-1].params["cur"] == "1"


# -- phones.php ----------------------------------------------------------------------------------


async def test_contact_list_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(
        emulator,
        [
            {
                "phone": "79999999999",
                "name": "Контакт",
                "group": 321,
                "first_name": "Иван",
                "last_name": "Петров",
                "middle_name": "",
                "birthday": "01.02.1990",
                "id": "",
                "comments": "",
                "tags": "",
                "phone_other": "",
            }
        ],
    )
    [contact] = await smsc.get_contacts(group=321)
    assert contact.phones == ["79999999999"] and contact.groups == [321]
    assert contact.birthday == date(1990, 2, 1)
    assert emulator.requests[-1].params["grp"] == "321"


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"id": 1234}, 1234), ({"id": "1234"}, 1234)],
)
async def test_created_ids_page_example(
    smsc: SmscClient, emulator: SmscEmulator, body: dict[str, Any], expected: int
) -> None:
    answer(emulator, body)
    assert await smsc.add_contact("79999999999", name="Contact", groups=[321]) == expected
    assert await smsc.add_group("Group") == expected
    assert await smsc.add_black("79999999999", type=BlackType.MASS) == expected
    assert await smsc.add_template("T", "text") == expected
    assert await smsc.add_subclient("mylogin", "Pass-word-1") == expected


async def test_black_list_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(emulator, [{"id": 55, "phone": "79999999999", "type": 1, "comment": "спам"}])
    [entry] = await smsc.get_black()
    assert (entry.id, entry.phone, entry.type, entry.comment) == (
        55,
        "79999999999",
        BlackType.MASS,
        "спам",
    )


@pytest.mark.parametrize("code", [1, 2, 4, 5, 9])
async def test_list_error_object_is_an_smsc_error(
    smsc: SmscClient, emulator: SmscEmulator, code: int
) -> None:
    answer(emulator, {"error": "описание", "error_code": code})
    with pytest.raises(SmscError) as err:
        await smsc.get_black()
    assert (err.value.code, err.value.command) == (code, "phones.get_black")


async def test_no_records_found_is_an_empty_list(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(emulator, {"error": "no records found", "error_code": 3})
    assert await smsc.get_contacts() == []
    assert await smsc.get_groups() == []
    assert await smsc.get_templates() == []


# -- senders.php ---------------------------------------------------------------------------------


async def test_sender_lists_page_examples(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(emulator, [{"sender": "SMSC.RU", "id": 7}])
    [plain] = await smsc.get_approved_senders()
    assert (plain.name, plain.id, plain.status) == ("SMSC.RU", 7, None)
    answer(emulator, [{"sender": "SMSC.RU", "status": 1, "id": 7}])
    [full] = await smsc.get_senders()
    assert full.status is SenderStatus.APPROVED
    assert emulator.requests[-1].params["all"] == "1"


async def test_sender_add_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(emulator, {"sender": 77})
    assert await smsc.add_sender("MyShop", comment="магазин") == 77


# -- templates.php -------------------------------------------------------------------------------


async def test_template_list_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(
        emulator,
        [
            {
                "id": 9,
                "name": "Код",
                "format": "sms",
                "sender": "SMSC",
                "flag": 1,
                "message": "Ваш код",
            }
        ],
    )
    [template] = await smsc.get_templates()
    assert (template.id, template.format, template.autosign) == (9, "sms", True)


# -- users.php -----------------------------------------------------------------------------------


async def test_users_stat_page_examples(smsc: SmscClient, emulator: SmscEmulator) -> None:
    row = {"login": "sub", "sms": "12", "credit": "30.50", "debit": "100", "currency": "RUB"}
    answer(emulator, [row])
    [stat] = await smsc.get_stat(date(2014, 1, 1), date(2014, 2, 1))
    assert (stat.sms, stat.spent, stat.credited) == (12, Decimal("30.50"), Decimal(100))
    item = {"description": "SMS", "operator": "МТС", "mccmnc": "25001", **row}
    del item["login"]
    answer(emulator, [{"login": "sub", "items": [item]}])
    [breakdown] = await smsc.get_stat_all(date(2014, 1, 1))
    assert breakdown.items[0].operator == "МТС" and breakdown.items[0].sms == 12


# -- get.php -------------------------------------------------------------------------------------


async def test_account_stat_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    answer(
        emulator, {"login": "alex", "sms": "5", "credit": "7.50", "debit": "0", "currency": "RUB"}
    )
    stat = await smsc.get_account_stat(date(2014, 1, 1), date(2014, 2, 1))
    assert (stat.sms, stat.spent) == (5, Decimal("7.50"))
    sent = emulator.requests[-1].params
    assert (sent["start"], sent["end"]) == ("01.01.2014", "01.02.2014")


async def test_message_history_page_example(smsc: SmscClient, emulator: SmscEmulator) -> None:
    message = {
        "status": "1",
        "last_date": "01.02.2024 10:00:05",
        "last_timestamp": "1706770805",
        "err": "0",
        "send_date": "01.02.2024 10:00:00",
        "send_timestamp": "1706770800",
        "phone": "79999999999",
        "cost": "1.50",
        "sender_id": "SMSC.RU",
        "status_name": "Доставлено",
        "message": "Ваш код: 1234",
        "id": "11",
        "int_id": "123456",
    }
    answer(emulator, [message])
    [sent] = await smsc.get_messages("79999999999", start=date(2024, 1, 1), end=date(2024, 2, 1))
    assert (sent.int_id, sent.status, sent.cost, sent.sender) == (
        123456,
        1,
        Decimal("1.50"),
        "SMSC.RU",
    )
    assert sent.sent_at == datetime(2024, 2, 1, 10, 0, 0)


# -- limits (NOTES.md) ---------------------------------------------------------------------------


async def test_error_4_from_the_backup_host_pauses_every_host(
    credentials: Credentials, emulator: SmscEmulator, clock: ManualClock
) -> None:
    # Error 4 blocks this server's IP, whichever of SMSC's hosts said so.
    connector = SmscConnector(
        SmscSettings(api_url=f"http://127.0.0.1:{closed_port()}", backup_api_url=emulator.base_url),
        clock=clock,
    )
    try:
        smsc = connector.client(credentials)
        emulator.fault = 4
        with pytest.raises(SmscError) as first:
            await smsc.get_groups()
        assert (first.value.code, first.value.local) == (4, False)
        emulator.fault = None
        with pytest.raises(SmscError) as second:
            await smsc.get_templates()
        assert (second.value.code, second.value.local) == (4, True)
        assert len(emulator.requests) == 1
    finally:
        await connector.aclose()


async def test_message_history_without_an_end_runs_to_smscs_now(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    # get.php: "end ... If omitted, data from the start date is returned". An end from the bot's
    # clock (UTC) would cut off SMSC's today (Moscow) every evening.
    seed_messages(emulator.accounts[LOGIN], "79990001122", 2)
    found = await smsc.get_messages("79990001122")
    assert len(found) == 2
    sent = emulator.requests[-1].params
    assert "end" not in sent
    start = datetime.strptime(sent["start"], "%d.%m.%Y").date()
    assert start == months_before(date.today(), 6) + timedelta(days=1)
    await smsc.get_messages("79990001122", end=date.today())
    assert emulator.requests[-1].params["end"] == date.today().strftime("%d.%m.%Y")


@pytest.mark.parametrize("amount", ["0.004", "10.005"])
async def test_a_top_up_is_never_rounded_into_another_amount(
    smsc: SmscClient, emulator: SmscEmulator, amount: str
) -> None:
    with pytest.raises(ValueError):
        await smsc.pay_subclient("sub", Decimal(amount))
    assert emulator.requests == []


async def test_a_new_group_is_asked_for_as_a_phone_group(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    # phones.php: type "0 – group for phone numbers, 1 – ... e-mail" on add_group and get_group;
    # get_groups asks for type 0, so a group the bot makes must be of that type too.
    group_id = await smsc.add_group("Клиенты", number=3)
    sent = emulator.requests[-1].params
    assert (sent["add_group"], sent["name"], sent["num"], sent["type"]) == (
        "1",
        "Клиенты",
        "3",
        "0",
    )
    assert [g.id for g in await smsc.get_groups() if g.name == "Клиенты"] == [group_id]


@pytest.mark.parametrize(
    "tunable", [{"identical_per_minute": 4}, {"balance_per_minute": 10}, {"balance_per_minute": 0}]
)
def test_settings_that_would_cross_smscs_limits_are_refused(tunable: dict[str, int]) -> None:
    # NOTES.md: 3 identical requests a minute, 10 balance requests a minute give error 9.
    with pytest.raises(ValueError):
        SmscSettings(**tunable)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [403, 429, 503])
async def test_an_error_object_under_another_http_status_is_still_smscs_error(
    credentials: Credentials, clock: ManualClock, status: int
) -> None:
    # NOTES.md: errors come in the body "with HTTP 200 (inferred)"; should SMSC send error 4
    # with another status, it is still the IP block and must pause calls.
    hits: list[str] = []

    async def blocked(request: web.Request) -> web.Response:
        hits.append(request.path)
        body = {"error": "IP address temporarily blocked", "error_code": 4}
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/sys/{script}.php", blocked)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    connector = SmscConnector(SmscSettings(api_url=f"http://127.0.0.1:{port}"), clock=clock)
    try:
        smsc = connector.client(credentials)
        with pytest.raises(SmscError) as first:
            await smsc.get_groups()
        assert (first.value.code, first.value.local) == (4, False)
        with pytest.raises(SmscError) as second:
            await smsc.get_templates()
        assert (second.value.code, second.value.local) == (4, True)
        assert hits == ["/sys/phones.php"]
    finally:
        await connector.aclose()
        await runner.cleanup()


async def test_identical_requests_are_counted_when_smsc_gets_them(
    smsc: SmscClient, emulator: SmscEmulator, clock: ManualClock
) -> None:
    # "Not more than three identical requests per minute": SMSC counts what arrives. A request
    # that reaches it 5 s after leaving counts from then, so a fourth 60.5 s after the first left
    # would be SMSC's fourth in 55.5 s.
    class ArrivesLate(list[Any]):
        def append(self, request: Any) -> None:
            super().append(request)
            clock.advance(5)

    emulator.requests = ArrivesLate()
    await smsc.add_black("79001230000")
    emulator.requests = list(emulator.requests)
    await smsc.add_black("79001230000")
    await smsc.add_black("79001230000")
    clock.advance(55.5)
    with pytest.raises(SmscError) as err:
        await smsc.add_black("79001230000")
    assert (err.value.code, err.value.local) == (9, True)
    assert len(emulator.requests) == 3
    clock.advance(5)
    await smsc.add_black("79001230000")
