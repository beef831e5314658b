"""SMSC's answers in the shapes its pages write them (issue 10), through the client, over HTTP.

Where a page's own example is fed verbatim, the emulator answers it as a fixed body (the "garbage"
fault with ``garbage_body``); otherwise the emulator is switched to the shape (``emulator.shapes``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.smsc import SmscClient
from bot.smsc.emulator import Contact as EmuContact
from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN


def answer(emulator: SmscEmulator, body: Any) -> None:
    """Every request from now on gets this JSON body."""
    emulator.fault = "garbage"
    emulator.garbage_body = json.dumps(body, ensure_ascii=False).encode()


def page_contact(**fields: Any) -> dict[str, Any]:
    """A contact as phones.php's fmt=3 example writes one."""
    row: dict[str, Any] = {
        "phone": "79999999999",
        "name": "Contact",
        "group": 321,
        "first_name": "",
        "last_name": "",
        "middle_name": "",
        "birthday": "",
        "id": "",
        "comments": "",
        "tags": "",
        "phone_other": "",
    }
    row.update(fields)
    return row


def seed_contacts(emulator: SmscEmulator, count: int, myid: str = "") -> None:
    account = emulator.accounts[LOGIN]
    for i in range(count):
        contact_id = account.new_id("contact")
        account.contacts[contact_id] = EmuContact(
            contact_id, [f"7916000{i:04d}"], f"Page {i}", myid=myid
        )


# -- 1. contact ids ------------------------------------------------------------------------------


async def test_contact_id_is_the_clients_text_myid(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    answer(emulator, [page_contact(id="crm-42"), page_contact(phone="79990000000", id="")])
    crm, blank = await smsc.get_contacts()
    assert (crm.id, crm.int_id, crm.phone) == ("crm-42", None, "79999999999")
    assert (blank.id, blank.int_id) == ("", None)


async def test_iter_contacts_pages_by_int_id_not_by_myid(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    seed_contacts(emulator, 5, myid="crm-42")
    before = len(emulator.requests)
    found = [c async for c in smsc.iter_contacts(page_size=2)]
    assert [c.name for c in found] == [f"Page {i}" for i in range(5)]
    assert {c.id for c in found} == {"crm-42"}
    cursors = [r.params.get("after_id") for r in emulator.requests[before:]]
    assert cursors == [None, str(found[1].int_id), str(found[3].int_id)]


async def test_iter_contacts_ends_when_the_answer_has_no_int_id(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.shapes.contact_int_id = False
    seed_contacts(emulator, 3)
    before = len(emulator.requests)
    found = []
    async for contact in smsc.iter_contacts(page_size=2):
        found.append(contact)
        if len(found) > 10:
            break
    assert [c.name for c in found] == ["Page 0", "Page 1", "Page 2"]
    # The first page, then one read of the most SMSC gives without a cursor; no after_id ever.
    requests = emulator.requests[before:]
    assert [r.params.get("cnt") for r in requests] == ["2", "1000"]
    assert all("after_id" not in r.params for r in requests)


async def test_iter_contacts_ends_when_the_cursor_stands_still(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    # An answer that repeats itself whatever after_id says.
    answer(emulator, [page_contact(int_id=7), page_contact(phone="79990000000", int_id=7)])
    found = []
    async for contact in smsc.iter_contacts(page_size=2):
        found.append(contact)
        if len(found) > 10:
            break
    assert len(found) == 4
    assert len([r for r in emulator.requests if r.params.get("get")]) == 2


# -- 9. phone lists "separated by any separator" ------------------------------------------------


@pytest.mark.parametrize("separator", [" / ", "; ", " ", "|", "\n", " и "])
async def test_contact_numbers_split_at_any_separator(
    smsc: SmscClient, emulator: SmscEmulator, separator: str
) -> None:
    emulator.shapes.phone_separator = separator
    await smsc.add_contact(f"79999999999{separator}+79990000000", name="Two numbers")
    [contact] = await smsc.get_contacts(search="Two numbers")
    assert contact.phones == ["79999999999", "79990000000"]


# -- 8. operator replacement names (senders.php, operators=1) ----------------------------------


async def test_operator_replacements_numeric_text_and_as_an_extra_key(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    # The page's fmt=3 row, with replacements where the page says they are "also included".
    row = {
        "sender": "MyShop",
        "mega_step": "2",
        "mega_int": "",
        "bee_step": "MyShopBee",
        "mts_step": "79001234567",
        "tele2_step": "1",
        "tele2_step_sender": "SHOP",
        "ua_reg": "255",
        "id": "3001",
    }
    answer(emulator, [row])
    [entry] = await smsc.get_sender_operators()
    assert entry.id == 3001 and entry.name == "MyShop"
    assert entry.statuses == {"mega_step": 2, "tele2_step": 1, "ua_reg": 255}
    assert entry.replacements == {
        "bee_step": "MyShopBee",
        "mts_step": "79001234567",
        "tele2_step": "SHOP",
    }


# -- 10. group lists ---------------------------------------------------------------------------


async def test_groups_are_asked_for_phone_groups_and_read_with_their_number(
    smsc: SmscClient, emulator: SmscEmulator
) -> None:
    # The page's fmt=3 group row: "number" is the mailing group's number.
    answer(emulator, [{"id": 321, "name": "Group", "number": 5, "cnt": "12"}])
    [group] = await smsc.get_groups()
    assert (group.id, group.name, group.number, group.cnt) == (321, "Group", 5, 12)
    assert emulator.requests[-1].params["type"] == "0"
