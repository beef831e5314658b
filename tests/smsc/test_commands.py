"""Every documented SMSC admin command, through the client, over HTTP, against the emulator.

Each test names the script and command it covers, asserts what the client returns and what the
emulator received.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.smsc import Credentials, SmscClient, SmscConnector, SmscError
from bot.smsc.emulator import SmscEmulator
from bot.smsc.models import (
    BlackType,
    MoveMode,
    OperatorStatus,
    SenderStatus,
    SubclientType,
    TemplateFormat,
)
from tests.conftest import APIKEY, ManualClock


def last_params(emulator: SmscEmulator) -> dict[str, str]:
    return dict(emulator.requests[-1].params)


# -- balance.php --------------------------------------------------------------------------------


async def test_balance_with_currency(smsc: SmscClient, emulator: SmscEmulator) -> None:
    balance = await smsc.get_balance()
    assert isinstance(balance.balance, Decimal)
    assert balance.currency == "RUB"
    assert last_params(emulator)["cur"] == "1"
    assert emulator.requests[-1].path == "/sys/balance.php"


async def test_balance_with_apikey(connector: SmscConnector, emulator: SmscEmulator) -> None:
    balance = await connector.client(Credentials.with_apikey(APIKEY)).get_balance()
    assert balance.currency == "RUB"
    params = last_params(emulator)
    assert params["apikey"] == APIKEY
    assert "login" not in params and "psw" not in params


# -- phones.php: contacts -----------------------------------------------------------------------


async def test_phones_add_contact_with_every_field(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    group = await smsc.add_group("Friends")
    contact_id = await smsc.add_contact(
        ["+7 (999) 123-45-67", "79990001122"],
        name="Ivan",
        groups=[group],
        last_name="Petrov",
        first_name="Ivan",
        middle_name="Sergeevich",
        birthday=date(1990, 5, 17),
        myid="crm-42",
        comment="met at the fair",
        tags="vip,fair",
        other_phones=["74950000000"],
    )
    assert contact_id > 0
    sent = last_params(emulator)
    assert sent["add"] == "1"
    assert sent["bd"] == "17.05.1990"
    assert sent["grp"] == str(group)
    assert sent["myid"] == "crm-42"
    assert sent["pho"] == "74950000000"

    [contact] = await smsc.get_contacts(phone="79991234567")
    assert (contact.int_id, contact.id) == (contact_id, "crm-42")
    assert set(contact.phones) == {"79991234567", "79990001122"}
    assert contact.name == "Ivan"
    assert contact.groups == [group]
    assert (contact.last_name, contact.first_name, contact.middle_name) == (
        "Petrov",
        "Ivan",
        "Sergeevich",
    )
    assert contact.birthday == date(1990, 5, 17)
    assert contact.comments == "met at the fair"
    assert contact.tags == "vip,fair"
    assert "74950000000" in contact.phone_other


async def test_phones_cyrillic_contact_name_round_trip(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    name = "Анна-Мария Ёлкина «Ромашка»"
    await smsc.add_contact("79161112233", name=name, comment="звонить после 18:00")
    sent = emulator.requests[-1]
    assert sent.params["name"] == name
    assert sent.params["charset"] == "utf-8"
    [contact] = await smsc.get_contacts(search="Ёлкина")
    assert contact.name == name
    assert contact.comments == "звонить после 18:00"


async def test_phones_chg_contact_new_phone_and_fields(smsc: SmscClient) -> None:
    await smsc.add_contact("79160000001", name="Old")
    await smsc.change_contact(
        "79160000001",
        new_phone="79160000002",
        name="New",
        comment="moved",
        birthday=date(2000, 1, 2),
    )
    assert await smsc.get_contacts(phone="79160000001") == []
    [contact] = await smsc.get_contacts(phone="79160000002")
    assert (contact.name, contact.comments, contact.birthday) == ("New", "moved", date(2000, 1, 2))


async def test_phones_del_contact(smsc: SmscClient) -> None:
    await smsc.add_contact("79160000003", name="Gone")
    await smsc.delete_contact("79160000003")
    assert await smsc.get_contacts(phone="79160000003") == []
    with pytest.raises(SmscError) as err:
        await smsc.delete_contact("79160000003")
    assert err.value.code == 3
    assert err.value.command == "phones.del"


async def test_phones_get_contacts_filters(smsc: SmscClient, emulator: SmscEmulator) -> None:
    work = await smsc.add_group("Work")
    await smsc.add_contact("79170000001", name="Olga", last_name="Smirnova", groups=[work])
    await smsc.add_contact("79170000002", name="Oleg", last_name="Ivanov")
    await smsc.add_contact("79170000003", name="Pavel", last_name="Smirnov", groups=[work])

    in_group = await smsc.get_contacts(group=work)
    assert {c.name for c in in_group} == {"Olga", "Pavel"}
    assert last_params(emulator)["grp"] == str(work)
    by_fio = await smsc.get_contacts(fio="Smirnov")
    assert {c.name for c in by_fio} == {"Olga", "Pavel"}
    by_number = await smsc.get_contacts(search="79170000002")
    assert [c.name for c in by_number] == ["Oleg"]
    first_two = await smsc.get_contacts(search="7917000000", cnt=2)
    assert len(first_two) == 2
    rest = await smsc.get_contacts(search="7917000000", after_id=first_two[-1].int_id)
    assert [c.name for c in rest] == ["Pavel"]
    assert last_params(emulator)["after_id"] == str(first_two[-1].int_id)


async def test_phones_get_contacts_nothing_found_is_empty(smsc: SmscClient) -> None:
    assert await smsc.get_contacts(search="no-such-contact-anywhere") == []


async def test_phones_iter_contacts_pages_by_after_id(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    for i in range(25):
        await smsc.add_contact(f"7918000{i:04d}", name=f"Paged {i}")
    before = len(emulator.requests)
    contacts = [c async for c in smsc.iter_contacts(search="Paged", page_size=10)]
    assert [c.name for c in contacts] == [f"Paged {i}" for i in range(25)]
    pages = emulator.requests[before:]
    assert [r.params.get("after_id") for r in pages] == [
        None,
        str(contacts[9].int_id),
        str(contacts[19].int_id),
    ]
    assert all(r.params["cnt"] == "10" for r in pages)


# -- phones.php: groups -------------------------------------------------------------------------


async def test_phones_add_group_chg_group_del_group_get_group(smsc: SmscClient) -> None:
    group_id = await smsc.add_group("Клиенты 2024", number=7)
    groups = {g.id: g for g in await smsc.get_groups()}
    assert groups[group_id].name == "Клиенты 2024"
    assert groups[group_id].number == 7
    assert groups[group_id].cnt == 0

    await smsc.add_contact("79190000001", groups=[group_id])
    await smsc.rename_group(group_id, "Постоянные")
    groups = {g.id: g for g in await smsc.get_groups()}
    assert groups[group_id].name == "Постоянные"
    assert groups[group_id].cnt == 1

    await smsc.delete_group(group_id)
    assert group_id not in {g.id for g in await smsc.get_groups()}


async def test_phones_move_group_modes(smsc: SmscClient, emulator: SmscEmulator) -> None:
    a = await smsc.add_group("A")
    b = await smsc.add_group("B")
    await smsc.add_contact("79190000009", name="Mover", groups=[a])

    async def groups_of() -> set[int]:
        [contact] = await smsc.get_contacts(phone="79190000009")
        return set(contact.groups)

    await smsc.move_group("79190000009", b, MoveMode.ADD)
    assert last_params(emulator)["move_group"] == "2"
    assert await groups_of() == {a, b}
    await smsc.move_group("79190000009", a, MoveMode.REMOVE)
    assert last_params(emulator)["move_group"] == "3"
    assert await groups_of() == {b}
    await smsc.move_group("79190000009", a, MoveMode.MOVE)
    assert last_params(emulator)["move_group"] == "1"
    assert await groups_of() == {a}


# -- phones.php: black list ---------------------------------------------------------------------


async def test_phones_add_black_types_and_comment(smsc: SmscClient, emulator: SmscEmulator) -> None:
    first = await smsc.add_black("79200000001")
    assert last_params(emulator)["type"] == "0"
    await smsc.add_black("79200000002", type=BlackType.MASS, comment="рассылки не нужны")
    await smsc.add_black("79200000003", type=BlackType.SINGLE)
    entries = {e.phone: e for e in await smsc.get_black()}
    assert entries["79200000001"].id == first
    assert entries["79200000001"].type is BlackType.ALL
    assert entries["79200000002"].type is BlackType.MASS
    assert entries["79200000002"].comment == "рассылки не нужны"
    assert entries["79200000003"].type is BlackType.SINGLE


async def test_phones_del_black(smsc: SmscClient) -> None:
    await smsc.add_black("79200000011")
    await smsc.delete_black("79200000011")
    assert "79200000011" not in {e.phone for e in await smsc.get_black()}


async def test_phones_get_black_newest_first_with_prev_id(smsc: SmscClient) -> None:
    for i in range(5):
        await smsc.add_black(f"7921000000{i}")
    newest = await smsc.get_black(cnt=2)
    assert [e.phone for e in newest] == ["79210000004", "79210000003"]
    older = await smsc.get_black(cnt=2, prev_id=newest[-1].id)
    assert [e.phone for e in older] == ["79210000002", "79210000001"]


async def test_phones_iter_black_pages_through_5000_entries(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.accounts["alice"].black.clear()
    for i in range(5000):
        emulator.accounts["alice"].add_black(f"7930{i:07d}")
    before = len(emulator.requests)
    phones = [e.phone async for e in smsc.iter_black()]
    assert len(phones) == 5000
    assert len(set(phones)) == 5000
    assert phones[0] == "79300004999"
    assert phones[-1] == "79300000000"
    pages = emulator.requests[before:]
    # Five full pages of 1000, then one empty answer that ends the walk.
    assert len(pages) == 6
    assert [r.params.get("prev_id") is None for r in pages] == [True] + [False] * 5


# -- senders.php ---------------------------------------------------------------------------------


async def test_senders_get_plain_all_and_operators(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    await smsc.add_sender("MyShop", comment="shop notifications")
    plain = await smsc.get_approved_senders()
    assert "all" not in last_params(emulator)
    with_status = await smsc.get_senders()
    assert last_params(emulator)["all"] == "1"
    mine = next(s for s in with_status if s.name == "MyShop")
    assert mine.status is SenderStatus.MODERATION
    # A plain list holds only the names approved for use; a new one is still in moderation.
    assert "MyShop" not in {s.name for s in plain}

    operators = await smsc.get_sender_operators()
    assert last_params(emulator)["operators"] == "1"
    entry = next(o for o in operators if o.name == "MyShop")
    assert entry.id == mine.id
    assert entry.statuses
    assert all(code in {int(s) for s in OperatorStatus} for code in entry.statuses.values())


async def test_senders_add_chg_del_by_name_and_id(smsc: SmscClient, emulator: SmscEmulator) -> None:
    first = await smsc.add_sender("Shop1", comment="first")
    second = await smsc.add_sender("Shop2")
    await smsc.change_sender(name="Shop1", comment="renamed comment")
    assert last_params(emulator)["sender"] == "Shop1"
    await smsc.change_sender(sender_id=second, comment="by id")
    assert last_params(emulator)["id"] == str(second)
    await smsc.delete_sender(name="Shop1")
    await smsc.delete_sender(sender_id=second)
    names = {s.name for s in await smsc.get_senders()}
    assert not names & {"Shop1", "Shop2"}
    with pytest.raises(SmscError) as err:
        await smsc.delete_sender(sender_id=first)
    assert err.value.code == 3


async def test_senders_add_invalid_name_is_error_1(smsc: SmscClient) -> None:
    with pytest.raises(SmscError) as err:
        await smsc.add_sender("This name is far too long")
    assert err.value.code == 1
    assert err.value.command == "senders.add"


async def test_senders_send_code_and_check_code(smsc: SmscClient, emulator: SmscEmulator) -> None:
    await smsc.add_sender("79161234567")
    await smsc.send_sender_code("79161234567")
    code = emulator.sent_codes["79161234567"]
    with pytest.raises(SmscError) as wrong:
        await smsc.check_sender_code("79161234567", "000000" if code != "000000" else "111111")
    assert wrong.value.code == 11
    await smsc.check_sender_code("79161234567", code)
    status = {s.name: s.status for s in await smsc.get_senders()}
    assert status["79161234567"] is SenderStatus.APPROVED


async def test_senders_send_code_errors_7_and_10(smsc: SmscClient) -> None:
    await smsc.add_sender("Letters")
    with pytest.raises(SmscError) as not_digital:
        await smsc.send_sender_code("Letters")
    assert not_digital.value.code == 7
    await smsc.add_sender("79160009988")
    await smsc.send_sender_code("79160009988")
    with pytest.raises(SmscError) as again:
        await smsc.send_sender_code("79160009988")
    assert again.value.code == 10


# -- templates.php -------------------------------------------------------------------------------


async def test_templates_add_chg_del_get(smsc: SmscClient, emulator: SmscEmulator) -> None:
    template_id = await smsc.add_template(
        "Напоминание",
        "Ваш заказ {order} готов",
        format=TemplateFormat.SMS,
        sender="MyShop",
        autosign=True,
    )
    sent = last_params(emulator)
    assert (sent["name"], sent["msg"], sent["format"], sent["sender"], sent["fl[1]"]) == (
        "Напоминание",
        "Ваш заказ {order} готов",
        "sms",
        "MyShop",
        "1",
    )
    template = next(t for t in await smsc.get_templates() if t.id == template_id)
    assert template.message == "Ваш заказ {order} готов"
    assert template.autosign
    assert template.format == "sms"

    await smsc.change_template(template, message="Заказ готов", autosign=False)
    sent = last_params(emulator)
    # Every field goes with a change (the page does not promise that left-out ones are kept).
    assert (sent["name"], sent["msg"], sent["format"], sent["sender"], sent["fl[1]"]) == (
        "Напоминание",
        "Заказ готов",
        "sms",
        "MyShop",
        "0",
    )
    template = next(t for t in await smsc.get_templates() if t.id == template_id)
    assert (template.message, template.autosign, template.name) == (
        "Заказ готов",
        False,
        "Напоминание",
    )

    await smsc.delete_template(template_id)
    assert template_id not in {t.id for t in await smsc.get_templates()}
    with pytest.raises(SmscError) as err:
        await smsc.delete_template(template_id)
    assert err.value.code == 3


# -- users.php -----------------------------------------------------------------------------------


async def test_users_add_and_chg_subclient(smsc: SmscClient, emulator: SmscEmulator) -> None:
    user_id = await smsc.add_subclient(
        "sub_one",
        "Str0ng-Passw",
        phone="79990000001",
        email="sub@example.org",
        type=SubclientType.MAIN_TARIFF_OWN_BALANCE,
        use_main_senders=True,
        fmts="7,-77",
    )
    assert user_id > 0
    sent = last_params(emulator)
    assert (sent["user"], sent["type"], sent["fl[29]"], sent["fmts"]) == (
        "sub_one",
        "1",
        "1",
        "7,-77",
    )

    await smsc.change_subclient(
        "sub_one",
        new_login="sub_two",
        password="An0ther-Pass",
        type=SubclientType.MAIN_TARIFF_MAIN_BALANCE,
    )
    sent = last_params(emulator)
    assert (sent["user"], sent["new_login"], sent["type"]) == ("sub_one", "sub_two", "2")
    with pytest.raises(SmscError) as err:
        await smsc.change_subclient("sub_one", fio="Nobody")
    assert err.value.code == 6


async def test_users_add_weak_password_is_error_1(smsc: SmscClient) -> None:
    with pytest.raises(SmscError) as err:
        await smsc.add_subclient("sub_weak", "short")
    assert err.value.code == 1


async def test_users_pay_subclient(smsc: SmscClient, emulator: SmscEmulator) -> None:
    await smsc.add_subclient("payee", "Str0ng-Passw", type=SubclientType.OWN_TARIFF_OWN_BALANCE)
    await smsc.add_subclient("sharer", "Str0ng-Passw", type=SubclientType.MAIN_TARIFF_MAIN_BALANCE)
    before = (await smsc.get_balance()).balance
    await smsc.pay_subclient("payee", Decimal("10.50"))
    assert last_params(emulator)["sum"] == "10.50"
    assert (await smsc.get_balance()).balance == before - Decimal("10.50")

    with pytest.raises(SmscError) as shares:
        await smsc.pay_subclient("sharer", Decimal("1"))
    assert shares.value.code == 7
    with pytest.raises(SmscError) as poor:
        await smsc.pay_subclient("payee", Decimal("99999999"))
    assert poor.value.code == 10
    with pytest.raises(SmscError) as unknown:
        await smsc.pay_subclient("nobody_here", Decimal("1"))
    assert unknown.value.code == 6


async def test_users_get_stat_and_get_stat_all(
    smsc: SmscClient, emulator: SmscEmulator, clock: ManualClock
) -> None:
    await smsc.add_subclient("reseller1", "Str0ng-Passw", type=SubclientType.OWN_TARIFF_OWN_BALANCE)
    await smsc.pay_subclient("reseller1", Decimal("25"))
    today = date.today()
    rows = await smsc.get_stat(today - timedelta(days=30), today, reseller=True)
    sent = last_params(emulator)
    assert sent["get_stat"] == "1"
    assert sent["reseller"] == "1"
    assert sent["start"] == (today - timedelta(days=30)).strftime("%d.%m.%Y")
    row = next(r for r in rows if r.login == "reseller1")
    assert row.credited == Decimal("25")
    assert row.currency

    one = await smsc.get_stat(today - timedelta(days=30), user="reseller1", reseller=True)
    assert [r.login for r in one] == ["reseller1"]
    assert "end" not in last_params(emulator)

    breakdown = await smsc.get_stat_all(
        today - timedelta(days=30), today, user="reseller1", reseller=True
    )
    assert last_params(emulator)["get_stat_all"] == "1"
    assert [r.login for r in breakdown] == ["reseller1"]
    assert sum((item.credited for item in breakdown[0].items), Decimal(0)) == Decimal("25")


async def test_users_get_stat_by_user_id(smsc: SmscClient, emulator: SmscEmulator) -> None:
    user_id = await smsc.add_subclient(
        "by_id", "Str0ng-Passw", type=SubclientType.OWN_TARIFF_OWN_BALANCE
    )
    await smsc.pay_subclient("by_id", Decimal("3"))
    rows = await smsc.get_stat(date.today() - timedelta(days=1), user_id=user_id, reseller=True)
    assert last_params(emulator)["user_id"] == str(user_id)
    assert [r.login for r in rows] == ["by_id"]


async def test_users_get_stat_rejects_reversed_period(smsc: SmscClient) -> None:
    with pytest.raises(ValueError):
        await smsc.get_stat(date(2024, 2, 1), date(2024, 1, 1))
