"""The logged-in account's contacts and groups: SMSC calls, plus the last answers SMSC gave.

SMSC answers error 9 to a fourth identical request within a minute. Someone editing one contact
several times in a minute must still see its card, so the last answer to each read (kept up to
date by the bot's own writes) is shown when, and only when, SMSC refuses a read that way.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Final, TypeVar

from bot.phones import digits_of
from bot.services.paging import page_after, page_before
from bot.smsc import SmscClient, SmscError
from bot.smsc.models import Contact, Group, MoveMode
from bot.storage.accounts import Account
from bot.text import clean

log = logging.getLogger(__name__)

T = TypeVar("T")

TOO_MANY_REQUESTS: Final = 9
# Contacts read at once for answers without an int_id to page by, and per step of a walk.
SCAN_PAGE: Final = 1000
# Longest name of a contact or a group the bot sends to SMSC.
NAME_LIMIT: Final = 100


def valid_name(text: str, limit: int = NAME_LIMIT) -> str | None:
    """A contact's or group's name as typed, cleaned; None when empty or too long."""
    # Bidi and zero-width characters never reach SMSC: they would reorder or hide the name.
    name = " ".join(clean(text).split())
    return name if 0 < len(name) <= limit else None


class Recall:
    """The last contact or group list SMSC showed (or the bot wrote), per key, least recent out."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        self._items.pop(key, None)


class PhoneBook:
    """One account's contacts and groups, as one chat sees them."""

    def __init__(self, smsc: SmscClient, account: Account, recall: Recall) -> None:
        self.smsc = smsc
        self.recall = recall
        # A new log-in starts afresh: nothing recalled crosses accounts or sessions.
        self._owner = (account.chat_id, account.site, account.login, account.verified_at)

    def _contact_key(self, digits: str) -> Hashable:
        return (*self._owner, "contact", digits)

    def _groups_key(self) -> Hashable:
        return (*self._owner, "groups")

    async def _read(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await fetch()
        except SmscError as exc:
            recalled = self.recall.get(key) if exc.code == TOO_MANY_REQUESTS else None
            if recalled is None:
                raise
            log.info("SMSC read refused by the repeat limit; showing the last known answer")
            return recalled  # type: ignore[no-any-return]
        if value is None:
            self.recall.drop(key)
        else:
            self.recall.put(key, value)
        return value

    async def contact(self, digits: str) -> Contact | None:
        """The contact holding this number, or None."""

        async def fetch() -> Contact | None:
            for contact in await self.smsc.get_contacts(phone=digits):
                if any(digits_of(p) == digits for p in contact.phones):
                    return contact
            return None

        return await self._read(self._contact_key(digits), fetch)

    async def unpaged(self, group: int | None, search: str | None) -> list[Contact]:
        """Up to SCAN_PAGE contacts in one read, for answers without an int_id to page by.

        Every page turn asks the same question, so SMSC's repeat limit is met by the recall.
        """

        async def fetch() -> list[Contact]:
            return await self.smsc.get_contacts(group=group, search=search, cnt=SCAN_PAGE)

        return await self._read((*self._owner, "unpaged", group, search), fetch)

    async def after(
        self, group: int | None, search: str | None, after_id: int | None, want: int
    ) -> list[Contact]:
        """Up to ``want`` contacts after int_id ``after_id`` (None: the first ones)."""
        return await page_after(
            self._reader(group, search), _int_id, after_id, want, ascending=True
        )

    async def before(
        self, group: int | None, search: str | None, before_id: int, size: int
    ) -> tuple[list[Contact], bool, bool]:
        """The ``size`` contacts before int_id ``before_id``; whether more come before, after."""
        return await page_before(
            self._reader(group, search), _int_id, before_id, size, ascending=True, chunk=SCAN_PAGE
        )

    def _reader(
        self, group: int | None, search: str | None
    ) -> Callable[[int | None, int], Awaitable[list[Contact]]]:
        async def read(after_id: int | None, count: int) -> list[Contact]:
            return await self.smsc.get_contacts(
                group=group, search=search, cnt=count, after_id=after_id
            )

        return read

    async def groups(self) -> list[Group]:
        """Every group (a recalled list may be up to a minute behind in its counts)."""
        return await self._read(self._groups_key(), self.smsc.get_groups)

    async def group(self, group_id: int) -> Group | None:
        return next((g for g in await self.groups() if g.id == group_id), None)

    async def names(self) -> dict[int, str]:
        """Group names by id; empty when SMSC says not now and none are known (ids are shown)."""
        try:
            return {g.id: g.name for g in await self.groups()}
        except SmscError as exc:
            if exc.code != TOO_MANY_REQUESTS:
                raise
            return {}

    def _update_contact(self, digits: str, **changes: Any) -> None:
        key = self._contact_key(digits)
        known: Contact | None = self.recall.get(key)
        if known is not None:
            self.recall.put(key, known.model_copy(update=changes))

    def _update_groups(self, change: Callable[[list[Group]], list[Group]]) -> None:
        known: list[Group] | None = self.recall.get(self._groups_key())
        if known is not None:
            self.recall.put(self._groups_key(), change(known))

    async def add(self, digits: str, name: str, groups: list[int]) -> Contact:
        contact_id = await self.smsc.add_contact(digits, name=name or None, groups=groups or None)
        contact = Contact(id=contact_id, phone=[digits], name=name, group=groups)
        self.recall.put(self._contact_key(digits), contact)
        return contact

    async def rename(self, digits: str, name: str) -> None:
        await self.smsc.change_contact(digits, name=name)
        self._update_contact(digits, name=name)

    async def change_number(self, contact: Contact, old: str, new: str) -> None:
        """Replace the number ``old``; the contact's other numbers stay."""
        phones = [new if digits_of(p) == old else p for p in contact.phones]
        await self.smsc.change_contact(old, new_phone=phones)
        self.recall.drop(self._contact_key(old))
        self.recall.put(self._contact_key(new), contact.model_copy(update={"phones": phones}))

    async def move(self, digits: str, group_id: int, mode: MoveMode) -> None:
        await self.smsc.move_group(digits, group_id, mode)
        known: Contact | None = self.recall.get(self._contact_key(digits))
        if known is None:
            return
        if mode is MoveMode.MOVE:
            groups = [group_id]
        elif mode is MoveMode.ADD:
            groups = [*[g for g in known.groups if g != group_id], group_id]
        else:
            groups = [g for g in known.groups if g != group_id]
        self._update_contact(digits, groups=groups)

    async def delete(self, digits: str) -> None:
        await self.smsc.delete_contact(digits)
        self.recall.drop(self._contact_key(digits))

    async def add_group(self, name: str) -> int:
        group_id = await self.smsc.add_group(name)
        self._update_groups(lambda groups: [*groups, Group(id=group_id, name=name)])
        return group_id

    async def rename_group(self, group_id: int, name: str) -> None:
        await self.smsc.rename_group(group_id, name)
        self._update_groups(
            lambda groups: [
                g.model_copy(update={"name": name}) if g.id == group_id else g for g in groups
            ]
        )

    async def delete_group(self, group_id: int) -> None:
        await self.smsc.delete_group(group_id)
        self._update_groups(lambda groups: [g for g in groups if g.id != group_id])


def _int_id(contact: Contact) -> int | None:
    return contact.int_id


class PhoneBooks:
    """Hands out each chat's PhoneBook; one Recall per process, shared by them all."""

    def __init__(self, recall: Recall | None = None) -> None:
        self.recall = recall or Recall()

    def of(self, smsc: SmscClient, account: Account) -> PhoneBook:
        return PhoneBook(smsc, account, self.recall)
