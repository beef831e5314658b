"""``/sys/phones.php``: contacts, groups and the black list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .state import (
    Account,
    Call,
    Contact,
    Group,
    Shapes,
    digits,
    is_set,
    parse_date,
    parse_int,
    parse_phone,
    split_phones,
)
from .wire import Answer, ApiError, Params, Row, created, found, ok, table

MAX_COUNT = 1000

# Parameter of add/chg → Contact attribute; parameters absent from a chg leave the field alone.
_CONTACT_FIELDS = {
    "name": "name",
    "fnm": "first_name",
    "lnm": "last_name",
    "mnm": "middle_name",
    "myid": "myid",
    "cmt": "comments",
    "tags": "tags",
    "pho": "phone_other",
}


def handle(call: Call) -> Answer:
    """Run the phones.php command the parameters name."""
    params = call.params
    if is_set(params, "move_group"):
        return _move_group(call.account, params)
    for key, command in _COMMANDS.items():
        if is_set(params, key):
            return command(call.account, params)
    if is_set(params, "get"):
        return _get(call)
    if is_set(params, "add_black"):
        return _add_black(call)
    raise ApiError(1)


def _group_ids(account: Account, text: str) -> list[int]:
    ids = [parse_int(part, 0) for part in text.split(",") if part.strip()]
    if any(i not in account.groups for i in ids):
        raise ApiError(1)
    return list(dict.fromkeys(ids))


def _apply_fields(account: Account, contact: Contact, params: Params) -> None:
    for key, attr in _CONTACT_FIELDS.items():
        if key in params:
            setattr(contact, attr, params[key])
    if "bd" in params:
        if params["bd"].strip():
            parse_date(params["bd"])
        contact.birthday = params["bd"].strip()
    if "grp" in params:
        contact.groups = _group_ids(account, params["grp"])


def _find_contact(account: Account, params: Params) -> Contact:
    return found(account.contact_by_phone(parse_phone(params.get("phone", ""))))


def _add(account: Account, params: Params) -> Answer:
    phones = split_phones(params.get("phone", ""))
    if any(account.contact_by_phone(p) for p in phones):
        # The pages are silent; one contact per number keeps chg/del (which find by number) sound.
        raise ApiError(5, "contact with this number already exists")
    contact = Contact(id=0, phones=phones)
    _apply_fields(account, contact, params)
    contact.id = account.new_id("contact")
    account.contacts[contact.id] = contact
    return created(contact.id, "phone")


def _chg(account: Account, params: Params) -> Answer:
    contact = _find_contact(account, params)
    if "new_phone" in params:
        phones = split_phones(params["new_phone"])
        if any(account.contact_by_phone(p) not in (None, contact) for p in phones):
            raise ApiError(5, "contact with this number already exists")
    else:
        phones = contact.phones
    # Validate everything before changing anything, so an error leaves the contact as it was.
    probe = replace(contact, groups=list(contact.groups))
    _apply_fields(account, probe, params)
    probe.phones = phones
    account.contacts[contact.id] = probe
    return ok()


def _del(account: Account, params: Params) -> Answer:
    contact = _find_contact(account, params)
    del account.contacts[contact.id]
    return ok()


# A contact's fields in the order of the page's fmt=0, 1 and 2 answers.
CONTACT_FIELDS = (
    "phone",
    "name",
    "group",
    "first_name",
    "last_name",
    "middle_name",
    "birthday",
    "id",
    "comments",
    "tags",
    "phone_other",
)


def _contact_row(contact: Contact, shapes: Shapes) -> Row:
    row: dict[str, str | int] = {
        "phone": shapes.phone_separator.join(contact.phones),
        "name": contact.name,
        # The page's fmt=3 example writes one group as a number ("group": <group>).
        "group": contact.groups[0]
        if len(contact.groups) == 1
        else ",".join(map(str, contact.groups)),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "middle_name": contact.middle_name,
        "birthday": contact.birthday,
        # The page: <id> is the "contact Id assigned by the Client" (myid), text and maybe empty.
        "id": contact.myid,
        "comments": contact.comments,
        "tags": contact.tags,
        "phone_other": contact.phone_other,
    }
    if shapes.contact_int_id:
        row["int_id"] = contact.id
    return row


def _matches(contact: Contact, params: Params) -> bool:
    if params.get("grp", "").strip():
        wanted = {parse_int(g, 0) for g in params["grp"].split(",") if g.strip()}
        if not wanted & set(contact.groups):
            return False
    if params.get("phone", "").strip() and parse_phone(params["phone"]) not in contact.phones:
        return False
    fio = params.get("fio", "").casefold().split()
    names = " ".join((contact.last_name, contact.first_name, contact.middle_name)).casefold()
    if any(word not in names for word in fio):
        return False
    search = params.get("search", "").strip().casefold()
    if search:
        in_names = search in f"{contact.name} {names}".casefold()
        number = digits(search)
        in_phones = bool(number) and any(number in p for p in contact.phones)
        if not (in_names or in_phones):
            return False
    return True


def _count(params: Params) -> int:
    cnt = parse_int(params.get("cnt"), MAX_COUNT)
    if cnt < 1:
        raise ApiError(1)
    return min(cnt, MAX_COUNT)


def _get(call: Call) -> Answer:
    account, params = call.account, call.params
    after_id = parse_int(params.get("after_id"), 0)
    cnt = _count(params)
    found = [
        c for _, c in sorted(account.contacts.items()) if c.id > after_id and _matches(c, params)
    ]
    if not found:
        raise ApiError(3)
    rows = [_contact_row(c, call.shapes) for c in found[:cnt]]
    # int_id is for after_id, which the page gives for "fmt=3 format" only.
    return table(rows, "contact", text_order=CONTACT_FIELDS)


def _group_type(params: Params) -> int:
    kind = parse_int(params.get("type"), 0)
    if kind not in (0, 1):
        raise ApiError(1)
    return kind


def _name_taken(account: Account, name: str, but: int | None = None) -> bool:
    folded = name.casefold()
    return any(g.name.casefold() == folded and g.id != but for g in account.groups.values())


def _add_group(account: Account, params: Params) -> Answer:
    name = params.get("name", "").strip()
    if not name:
        raise ApiError(1)
    if _name_taken(account, name):
        raise ApiError(5, "group with this name already exists")
    number = parse_int(params.get("num"), 0)
    group = Group(account.new_id("group"), name, number, _group_type(params))
    account.groups[group.id] = group
    return created(group.id, "group")


def _find_group(account: Account, params: Params) -> Group:
    group_id = parse_int(params.get("grp"), -1)
    if group_id < 0:
        raise ApiError(1)
    return found(account.groups.get(group_id))


def _chg_group(account: Account, params: Params) -> Answer:
    group = _find_group(account, params)
    name = params.get("name", group.name).strip()
    if not name:
        raise ApiError(1)
    if _name_taken(account, name, but=group.id):
        raise ApiError(5, "group with this name already exists")
    group.name = name
    group.number = parse_int(params.get("num"), group.number)
    return ok()


def _del_group(account: Account, params: Params) -> Answer:
    group = _find_group(account, params)
    del account.groups[group.id]
    for contact in account.contacts.values():
        if group.id in contact.groups:
            contact.groups.remove(group.id)
    return ok()


def _get_group(account: Account, params: Params) -> Answer:
    groups = sorted(account.groups.values(), key=lambda g: g.id)
    if params.get("type", "").strip():
        kind = _group_type(params)
        groups = [g for g in groups if g.type == kind]
    if not groups:
        raise ApiError(3)
    rows: list[Row] = [
        {
            "id": g.id,
            "name": g.name,
            "number": g.number,
            "cnt": str(sum(g.id in c.groups for c in account.contacts.values())),
        }
        for g in groups
    ]
    return table(rows, "group")


def _move_group(account: Account, params: Params) -> Answer:
    mode = params["move_group"].strip()
    if mode not in ("1", "2", "3"):
        raise ApiError(1)
    group = _find_group(account, params)
    contact = _find_contact(account, params)
    if mode == "1":
        contact.groups = [group.id]
    elif mode == "2" and group.id not in contact.groups:
        contact.groups.append(group.id)
    elif mode == "3" and group.id in contact.groups:
        contact.groups.remove(group.id)
    return ok()


def _add_black(call: Call) -> Answer:
    account, params = call.account, call.params
    phone = parse_phone(params.get("phone", ""))
    kind = parse_int(params.get("type"), 0)
    if kind not in (0, 1, 2):
        raise ApiError(1)
    old = next((e for e in account.black.values() if e.phone == phone), None)
    if old is not None and call.shapes.black_readd_error is not None:
        raise ApiError(call.shapes.black_readd_error)
    # Re-adding a number without cmt keeps its comment.
    comment = params.get("cmt", old.comment if old else "")
    return created(account.add_black(phone, kind, comment).id, "phone")


def _del_black(account: Account, params: Params) -> Answer:
    phone = parse_phone(params.get("phone", ""))
    entry = found(next((e for e in account.black.values() if e.phone == phone), None))
    del account.black[entry.id]
    return ok()


def _get_black(account: Account, params: Params) -> Answer:
    cnt = _count(params)
    prev_id = parse_int(params.get("prev_id"), 0)
    # The page lists no filter for get_black: a ``phone`` parameter is ignored.
    entries = [
        e
        for e in sorted(account.black.values(), key=lambda e: e.id, reverse=True)
        if not prev_id or e.id < prev_id
    ]
    if not entries:
        raise ApiError(3)
    rows: list[Row] = [
        {"id": e.id, "phone": e.phone, "type": e.type, "comment": e.comment} for e in entries[:cnt]
    ]
    return table(rows, "record")


# Should a request carry two commands, the first one here wins (then get, then add_black).
_COMMANDS: dict[str, Callable[[Account, Params], Answer]] = {
    "add_group": _add_group,
    "chg_group": _chg_group,
    "del_group": _del_group,
    "get_group": _get_group,
    "del_black": _del_black,
    "get_black": _get_black,
    "add": _add,
    "chg": _chg,
    "del": _del,
}
