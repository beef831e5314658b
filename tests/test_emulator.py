"""The SMSC emulator over real HTTP: wire formats, charsets, limits, faults and a few commands."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.smsc.emulator import (
    DEMO_APIKEY,
    DEMO_LOGIN,
    DEMO_PASSWORD,
    DEMO_UNDELIVERABLE,
    SmscEmulator,
)

AUTH = {"login": DEMO_LOGIN, "psw": DEMO_PASSWORD}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class FakeClock:
    """A clock the tests move by hand, so no test sleeps through a rate window."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emulator(clock: FakeClock) -> AsyncIterator[SmscEmulator]:
    emu = SmscEmulator(clock=clock, seed=7)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def client(emulator: SmscEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{emulator.base_url}/sys/", timeout=5) as http:
        yield http


async def call(http: httpx.AsyncClient, script: str, **params: Any) -> Any:
    """POST a utf-8 fmt=3 request as the demo account and decode the JSON answer."""
    data = {**AUTH, "fmt": 3, "charset": "utf-8", **params}
    response = await http.post(f"{script}.php", data=data)
    assert response.status_code == 200
    return response.json()


# --- wire formats -------------------------------------------------------------------------------


async def test_error_in_every_fmt(client: httpx.AsyncClient) -> None:
    expected = {
        0: ("text/plain", "ERROR = 2 (authorise error)"),
        1: ("text/plain", "0,-2"),
        2: (
            "text/xml",
            "<result>\n<error>authorise error</error>\n<error_code>2</error_code>\n</result>",
        ),
        3: ("application/json", '{"error": "authorise error", "error_code": 2}'),
    }
    for fmt, (kind, body) in expected.items():
        response = await client.get(
            "balance.php", params={"login": "nobody", "psw": "x", "fmt": fmt}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == f"{kind}; charset=windows-1251"
        assert response.text == body


async def test_default_fmt_is_0_and_get_works(client: httpx.AsyncClient) -> None:
    response = await client.get("balance.php", params=AUTH)
    assert response.text == "1250.50"


async def test_list_in_every_fmt(client: httpx.AsyncClient, clock: FakeClock) -> None:
    params = {**AUTH, "get_group": 1, "charset": "utf-8"}
    bodies = []
    for fmt in range(4):
        bodies.append((await client.post("phones.php", data={**params, "fmt": fmt})).text)
        clock.now += 30  # the same list four times a minute would be error 9
    assert bodies[0].splitlines()[0] == "id = 501, name = Клиенты, number = 1, cnt = 6"
    assert bodies[1].splitlines()[0] == "501,Клиенты,1,6"
    assert bodies[2].startswith(
        "<list>\n<group>\n<id>501</id>\n<name>Клиенты</name>\n<number>1</number>\n<cnt>6</cnt>\n"
    )
    assert bodies[2].endswith("</group>\n</list>")
    first = httpx.Response(200, content=bodies[3].encode()).json()[0]
    assert first == {"id": 501, "name": "Клиенты", "number": 1, "cnt": "6"}


async def test_contact_lines_in_fmt_0_and_1_are_the_pages_fields(client: httpx.AsyncClient) -> None:
    # int_id serves after_id, which the page gives for "fmt=3 format" only.
    params = {**AUTH, "get": 1, "phone": "79161234502", "charset": "utf-8"}
    line0 = (await client.post("phones.php", data={**params, "fmt": 0})).text
    line1 = (await client.post("phones.php", data={**params, "fmt": 1})).text
    assert line0 == (
        "phone = 79161234502, name = Мария Иванова, group = 501, first_name = Мария, "
        "last_name = Иванова, middle_name = , birthday = 03.11.1990, id = , comments = , "
        "tags = , phone_other = "
    )
    assert line1 == "79161234502,Мария Иванова,501,Мария,Иванова,,03.11.1990,,,,"


async def test_sender_list_shapes(client: httpx.AsyncClient) -> None:
    plain = await call(client, "senders", get=1)
    assert {"sender": "SMSC", "id": 3001} in plain
    assert all(s["sender"] != "Promo-24" for s in plain)  # still in moderation
    everything = await call(client, "senders", get=1, all=1)
    assert {s["status"] for s in everything} == {0, 1, 2}
    operators = await call(client, "senders", get=1, operators=1)
    assert all(isinstance(v, str) for row in operators for v in row.values())
    assert operators[0]["id"] == "3001"
    xml = (await client.post("senders.php", data={**AUTH, "get": 1, "all": 1, "fmt": 2})).text
    assert '<sender status="1" id="3001">SMSC</sender>' in xml


async def test_empty_list_is_error_3(emulator: SmscEmulator, client: httpx.AsyncClient) -> None:
    emulator.add_account("empty", "Secret-pass-1")
    response = await client.post(
        "phones.php", data={"login": "empty", "psw": "Secret-pass-1", "get": 1, "fmt": 1}
    )
    assert response.text == "0,-3"


# --- charsets -----------------------------------------------------------------------------------


async def test_utf8_with_charset_round_trips(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    answer = await call(client, "phones", add_group=1, name="Партнёры")
    assert emulator.accounts[DEMO_LOGIN].groups[answer["id"]].name == "Партнёры"


async def test_windows_1251_is_the_default(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    body = urlencode({**AUTH, "add_group": 1, "name": "Поставщики", "fmt": 3}, encoding="cp1251")
    response = await client.post("phones.php", content=body, headers=FORM)
    assert response.headers["content-type"] == "application/json; charset=windows-1251"
    group_id = response.json()["id"]
    assert emulator.accounts[DEMO_LOGIN].groups[group_id].name == "Поставщики"

    listed = await client.post("phones.php", data={**AUTH, "get_group": 1, "fmt": 1})
    assert "Поставщики" in listed.content.decode("cp1251")


async def test_utf8_without_charset_is_garbled(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    body = urlencode({**AUTH, "add_group": 1, "name": "Клиенты СПб", "fmt": 3})  # utf-8 bytes
    response = await client.post("phones.php", content=body, headers=FORM)
    group_id = response.json()["id"]
    stored = emulator.accounts[DEMO_LOGIN].groups[group_id].name
    assert stored != "Клиенты СПб"
    assert stored.startswith("Рљ")  # "К" in utf-8 read as windows-1251

    listed = await call(client, "phones", get_group=1)
    assert any(g["name"] == stored for g in listed)


async def test_koi8_r(emulator: SmscEmulator, client: httpx.AsyncClient) -> None:
    body = urlencode(
        {**AUTH, "add_group": 1, "name": "Друзья", "charset": "koi8-r"}, encoding="koi8_r"
    )
    response = await client.post("phones.php", content=body, headers=FORM)
    assert response.headers["content-type"] == "text/plain; charset=koi8-r"
    group_id = int(response.text.removeprefix("ID = "))
    assert emulator.accounts[DEMO_LOGIN].groups[group_id].name == "Друзья"


async def test_query_and_body_merge_and_are_recorded(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    response = await client.post("balance.php?cur=1&fmt=3", data=AUTH)
    assert response.json() == {"balance": "1250.50", "currency": "RUB"}
    record = emulator.requests[-1]
    assert record.raw_query == "cur=1&fmt=3"
    assert b"psw=" in record.raw_body
    assert record.login == DEMO_LOGIN
    assert record.params["cur"] == "1"


async def test_body_without_form_content_type_is_ignored(client: httpx.AsyncClient) -> None:
    response = await client.post("balance.php", content=urlencode(AUTH))
    assert response.text == "ERROR = 2 (authorise error)"


# --- authorisation and limits -------------------------------------------------------------------


async def test_apikey_replaces_login_and_password(client: httpx.AsyncClient) -> None:
    ok = await client.post("balance.php", data={"apikey": DEMO_APIKEY, "fmt": 3})
    assert ok.json() == {"balance": "1250.50"}
    bad = await client.post("balance.php", data={"apikey": "wrong", "fmt": 3})
    assert bad.json()["error_code"] == 2


async def test_ip_blocked_after_five_failed_logins(
    emulator: SmscEmulator, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    wrong = {"login": DEMO_LOGIN, "psw": "guess", "fmt": 1}
    for _ in range(5):
        assert (await client.post("balance.php", data=wrong)).text == "0,-2"
        clock.now += 60
    # Blocked even with the right password.
    assert (await client.post("balance.php", data={**AUTH, "fmt": 1})).text == "0,-4"
    clock.now += 1800
    assert (await client.post("balance.php", data={**AUTH, "fmt": 1})).text == "1250.50"


async def test_failed_logins_spread_over_30_minutes_do_not_block(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    wrong = {"login": DEMO_LOGIN, "psw": "guess", "fmt": 1}
    for _ in range(8):
        assert (await client.post("balance.php", data=wrong)).text == "0,-2"
        clock.now += 500
    assert (await client.post("balance.php", data={**AUTH, "fmt": 1})).text == "1250.50"


async def test_reset_limits_lifts_a_block(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        await client.post("balance.php", data={"login": "x", "psw": "y"})
    assert (await call(client, "balance"))["error_code"] == 4
    emulator.reset_limits()
    assert "balance" in await call(client, "balance")


async def test_fourth_identical_request_in_a_minute_is_error_9(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    for fmt in (3, 0, 1):  # fmt and charset do not make requests different
        response = await client.post("phones.php", data={**AUTH, "get_group": 1, "fmt": fmt})
        assert "ERROR" not in response.text
        clock.now += 10
    refused = await call(client, "phones", get_group=1)
    assert refused == {"error": "duplicate request, wait a minute", "error_code": 9}
    assert isinstance(await call(client, "phones", get_group=1, type=0), list)  # other params
    clock.now += 31  # the first request leaves the window
    assert isinstance(await call(client, "phones", get_group=1), list)


async def test_writes_count_as_identical_requests(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert "id" in await call(client, "phones", add_black=1, phone="79001112233")
    assert "id" in await call(client, "phones", add_black=1, phone="79001112233")
    assert "id" in await call(client, "phones", add_black=1, phone="79001112233")
    assert (await call(client, "phones", add_black=1, phone="79001112233"))["error_code"] == 9


async def test_count_limits_per_script(client: httpx.AsyncClient, clock: FakeClock) -> None:
    for i in range(5):
        assert "sender" in await call(client, "senders", add=1, sender=f"Brand{i}")
    assert (await call(client, "senders", add=1, sender="Brand9"))["error_code"] == 9
    for _ in range(10):
        assert "balance" in await call(client, "balance")
    assert (await call(client, "balance"))["error_code"] == 9
    for _ in range(3):
        assert await call(client, "users", chg=1, user="shop-msk", fio="A") == {"result": "OK"}
    assert (await call(client, "users", chg=1, user="shop-msk", fio="B"))["error_code"] == 9
    assert await call(client, "users", chg=1, user="shop-spb", fio="B") == {"result": "OK"}
    clock.now += 61
    assert "balance" in await call(client, "balance")


async def test_fifteenth_concurrent_request_is_error_9(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    emulator.latency = 0.5
    started = time.monotonic()
    answers = await asyncio.gather(*(call(client, "phones", get=1, cnt=i + 1) for i in range(15)))
    assert time.monotonic() - started < 3
    refused = [a for a in answers if isinstance(a, dict)]
    assert refused == [{"error": "too many concurrent requests", "error_code": 9}]
    assert emulator.max_in_flight[DEMO_LOGIN] == 15


async def test_fourteen_concurrent_requests_pass(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    emulator.latency = 0.3
    answers = await asyncio.gather(*(call(client, "phones", get=1, cnt=i + 1) for i in range(14)))
    assert all(isinstance(a, list) for a in answers)
    assert emulator.max_in_flight[DEMO_LOGIN] == 14


# --- faults -------------------------------------------------------------------------------------


async def test_fault_modes(emulator: SmscEmulator, client: httpx.AsyncClient) -> None:
    emulator.fault = "html"
    response = await client.post("balance.php", data={**AUTH, "fmt": 3})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text

    emulator.fault = "http500"
    assert (await client.post("balance.php", data={**AUTH, "fmt": 3})).status_code == 500

    emulator.fault = "garbage"
    response = await client.post("balance.php", data={**AUTH, "fmt": 3})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()

    emulator.fault = "drop"
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("balance.php", data={**AUTH, "fmt": 3})

    emulator.fault = 8
    assert (await call(client, "users", get_stat=1))["error_code"] == 8

    emulator.fault = "slow"
    emulator.slow_seconds = 0.3
    with pytest.raises(httpx.ReadTimeout):
        await client.post("balance.php", data=AUTH, timeout=0.1)
    started = time.monotonic()
    assert await call(client, "balance") == {"balance": "1250.50"}
    assert time.monotonic() - started >= 0.3

    emulator.fault = None
    assert await call(client, "balance", cur=1) == {"balance": "1250.50", "currency": "RUB"}


# --- commands -----------------------------------------------------------------------------------


async def test_contacts_add_change_page_delete(client: httpx.AsyncClient) -> None:
    added = await call(
        client, "phones", add=1, phone="+7 (999) 123-45-00", name="Пётр", grp="501,502"
    )
    assert await call(client, "phones", chg=1, phone="79991234500", new_phone="79991234599") == {
        "result": "OK"
    }
    [contact] = await call(client, "phones", get=1, phone="79991234599")
    # "id" is the client's myid (none given here); the server's id is int_id.
    assert (contact["id"], contact["int_id"]) == ("", added["id"])
    assert contact["group"] == "501,502"
    assert contact["name"] == "Пётр"
    page = await call(client, "phones", get=1, cnt=5)
    rest = await call(client, "phones", get=1, after_id=page[-1]["int_id"])
    ids = [int(c["int_id"]) for c in page + rest]
    assert ids == sorted(ids) and len(ids) == 13
    assert (await call(client, "phones", add=1, phone="1-2"))["error_code"] == 1
    assert (await call(client, "phones", add=1, phone="79990001111", bd="31.02.1990"))[
        "error_code"
    ] == 1
    assert await call(client, "phones", nothing=1) == {"error": "parameters error", "error_code": 1}
    assert await call(client, "phones", **{"del": 1, "phone": "79991234599"}) == {"result": "OK"}
    assert (await call(client, "phones", **{"del": 1, "phone": "79991234599"}))["error_code"] == 3


async def test_groups_and_move_group(client: httpx.AsyncClient) -> None:
    assert (await call(client, "phones", add_group=1, name="VIP"))["error_code"] == 5
    assert await call(client, "phones", move_group=1, grp=503, phone="79161234501") == {
        "result": "OK"
    }
    [contact] = await call(client, "phones", get=1, phone="79161234501")
    # The page writes one group unquoted: "group": <group>.
    assert contact["group"] == 503
    await call(client, "phones", move_group=2, grp=501, phone="79161234501")
    await call(client, "phones", move_group=3, grp=503, phone="79161234501")
    [contact] = await call(client, "phones", get=1, search="Иван Петров")
    assert contact["group"] == 501


async def test_black_list_newest_first_with_prev_id(client: httpx.AsyncClient) -> None:
    first = await call(client, "phones", get_black=1, cnt=4)
    assert [e["id"] for e in first] == sorted((e["id"] for e in first), reverse=True)
    assert isinstance(first[0]["type"], int)
    rest = await call(client, "phones", get_black=1, prev_id=first[-1]["id"])
    assert len(first) + len(rest) == 24
    again = await call(client, "phones", add_black=1, phone="79160000001", type=2, cmt="x")
    assert again == {"id": 70001}


async def test_sender_code_confirmation(emulator: SmscEmulator, client: httpx.AsyncClient) -> None:
    assert await call(client, "senders", send_code=1, sender="79995550101") == {"result": "OK"}
    assert (await call(client, "senders", send_code=1, sender="79995550101"))["error_code"] == 10
    assert (await call(client, "senders", check_code=1, sender="79995550101", code="0"))[
        "error_code"
    ] == 11
    code = emulator.sent_codes["79995550101"]
    assert await call(client, "senders", check_code=1, sender="79995550101", code=code) == {
        "result": "OK"
    }
    assert {"sender": "79995550101", "id": 3006} in await call(client, "senders", get=1)
    assert (await call(client, "senders", send_code=1, sender="MyShop"))["error_code"] == 7
    assert (await call(client, "senders", send_code=1, sender=DEMO_UNDELIVERABLE))[
        "error_code"
    ] == 8
    assert (await call(client, "senders", add=1, sender="Too-long-name"))["error_code"] == 1


async def test_subclients_pay_and_statistics(
    emulator: SmscEmulator, client: httpx.AsyncClient
) -> None:
    assert (await call(client, "users", add=1, user="new1", password="simple"))["error_code"] == 1
    added = await call(client, "users", add=1, user="new1", password="Str0ng-pass", type=1)
    assert isinstance(added["id"], int)
    assert await call(client, "users", pay=1, user="new1", sum="100.50") == {"result": "OK"}
    assert emulator.accounts[DEMO_LOGIN].balance == Decimal("1150.00")
    assert (await call(client, "users", pay=1, user="callcenter", sum=1))["error_code"] == 7
    assert (await call(client, "users", pay=1, user="new1", sum=99999))["error_code"] == 10
    assert (await call(client, "users", pay=1, user="ghost", sum=1))["error_code"] == 6

    # new1 has its own balance: asked without reseller=1 it is not among those sharing the main one.
    assert (await call(client, "users", get_stat=1, user="new1"))["error_code"] == 3
    assert (await call(client, "users", get_stat=1, user="callcenter", reseller=1))[
        "error_code"
    ] == 7
    [stat] = await call(client, "users", get_stat=1, user="new1", reseller=1)
    assert stat == {
        "login": "new1",
        "sms": "0",
        "credit": "0.00",
        "debit": "100.50",
        "currency": "RUB",
    }
    shared = await call(client, "users", get_stat=1, start="01.01.2000")
    assert {s["login"] for s in shared} == {"callcenter", "marketing"}
    [everything] = await call(
        client, "users", get_stat_all=1, user="shop-msk", reseller=1, start="01.01.2000"
    )
    assert {i["operator"] for i in everything["items"]} >= {"МТС", "Билайн"}
    assert (await call(client, "users", get_stat=1, start="2024-01-01"))["error_code"] == 1


async def test_shapes_the_pages_allow(emulator: SmscEmulator, client: httpx.AsyncClient) -> None:
    # get_black has no documented filter: a phone parameter changes nothing.
    everything = await call(client, "phones", get_black=1)
    assert await call(client, "phones", get_black=1, phone="79160000001") == everything
    # A re-add of a listed number may be refused.
    emulator.shapes.black_readd_error = 5
    assert (await call(client, "phones", add_black=1, phone="79160000001", type=1))[
        "error_code"
    ] == 5
    # Contacts as the page's example writes them: the client's id, no int_id.
    emulator.shapes.contact_int_id = False
    emulator.shapes.phone_separator = " / "
    await call(client, "phones", add=1, phone="79990000101; 79990000102", myid="crm-42")
    [contact] = await call(client, "phones", get=1, phone="79990000101")
    assert contact["id"] == "crm-42" and "int_id" not in contact
    assert contact["phone"] == "79990000101 / 79990000102"
    # A template change that names one field may blank the others.
    emulator.shapes.template_chg_keeps = False
    added = await call(client, "templates", add=1, name="T", msg="text", format="sms")
    await call(client, "templates", chg=1, id=added["id"], name="T2")
    [template] = [t for t in await call(client, "templates", get=1) if t["id"] == added["id"]]
    assert (template["name"], template["message"], template["format"]) == ("T2", "", "")
