"""Typed SMSC answers (fmt=3).

SMSC sends many numbers as strings (``"cnt": "12"``, ``"balance": "250.80"``) and leaves fields
empty rather than absent, so every field here is parsed leniently: ``""`` and ``null`` become the
field's empty value instead of a validation error.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Final

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _int(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, str):
        return value.strip()
    return value


def _opt_int(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def _decimal(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal(0)
    if isinstance(value, float):
        # Through str so that 250.8 does not become 250.80000000000001136...
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            return value
    return value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return value


def _id_list(value: Any) -> Any:
    """Group ids arrive as a number, a comma-separated string, or a list."""
    if value is None:
        return []
    if isinstance(value, int):
        return [value] if value else []
    if isinstance(value, str):
        return [int(part) for part in re.split(r"[^0-9]+", value) if part]
    return value


def _phone_list(value: Any) -> Any:
    """phones.php: "a list of phone numbers separated by any separator"."""
    if value is None:
        return []
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, str):
        # Anything but a digit separates numbers; a plus counts only at a number's start.
        return re.findall(r"\+?\d+", value)
    return value


def _birthday(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
    return value


Int = Annotated[int, BeforeValidator(_int)]
OptInt = Annotated[int | None, BeforeValidator(_opt_int)]
Money = Annotated[Decimal, BeforeValidator(_decimal)]
Text = Annotated[str, BeforeValidator(_text)]
IdList = Annotated[list[int], BeforeValidator(_id_list)]
PhoneList = Annotated[list[str], BeforeValidator(_phone_list)]
Birthday = Annotated[date | None, BeforeValidator(_birthday)]


class SmscModel(BaseModel):
    """Base of every answer model: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class BlackType(IntEnum):
    """What a black-list entry blocks."""

    ALL = 0
    MASS = 1
    SINGLE = 2


class MoveMode(IntEnum):
    """``move_group`` modes of phones.php."""

    MOVE = 1  # the contact ends up in this group only
    ADD = 2  # the group is added to the contact's groups
    REMOVE = 3  # the contact leaves this group


class SenderStatus(IntEnum):
    """Status of a sender name (``all=1``)."""

    MODERATION = 0
    APPROVED = 1
    DISABLED = 2


class OperatorStatus(IntEnum):
    """Registration status of a sender name at one operator (``operators=1``)."""

    AWAITING = 0
    SUBMITTED = 1
    APPROVED = 2
    REJECTED = 3
    SUSPENDED = 4
    NO_FUNDS = 5
    DOCUMENTS_NEEDED = 8
    FROM_MONTH_START = 9
    DEREGISTERING = 255


class TemplateFormat(StrEnum):
    """``format`` of a message template."""

    NONE = ""
    SMS = "sms"
    FLASH = "flash"
    BIN = "bin"
    PUSH = "push"
    MMS = "mms"
    CALL = "call"
    MAIL = "mail"
    VIBER = "viber"


class SubclientType(IntEnum):
    """``type`` of a subclient (users.php)."""

    OWN_TARIFF_OWN_BALANCE = 0
    MAIN_TARIFF_OWN_BALANCE = 1
    MAIN_TARIFF_MAIN_BALANCE = 2
    MAIN_BALANCE_OWN_TARIFF = 3
    EXTRA_LOGIN = 4


class Balance(SmscModel):
    balance: Money
    currency: Text = ""
    credit: Money | None = None


class Contact(SmscModel):
    """A phones.php contact.

    The page: ``<id>`` is the "contact Id assigned by the Client" (the ``myid`` a CRM sets: text,
    often empty), while ``after_id`` takes the server's ``int_id``, present only in some answers.
    """

    id: Text = ""
    int_id: OptInt = None
    phones: PhoneList = Field(default_factory=list, alias="phone")
    name: Text = ""
    groups: IdList = Field(default_factory=list, alias="group")
    first_name: Text = ""
    last_name: Text = ""
    middle_name: Text = ""
    birthday: Birthday = None
    comments: Text = ""
    tags: Text = ""
    phone_other: Text = ""

    @property
    def phone(self) -> str:
        return self.phones[0] if self.phones else ""


class Group(SmscModel):
    id: Int
    name: Text = ""
    number: OptInt = None
    cnt: Int = 0


class BlackEntry(SmscModel):
    id: Int
    phone: Text
    type: Annotated[BlackType, BeforeValidator(_int)] = BlackType.ALL
    comment: Text = ""


def is_phone_name(name: str) -> bool:
    """A phone number (10 to 15 digits): the only sender names SMSC sends a code to."""
    return name.isdigit() and name.isascii() and 10 <= len(name) <= 15


class Sender(SmscModel):
    id: Int
    name: Text = Field(alias="sender")
    status: Annotated[SenderStatus | None, BeforeValidator(_opt_int)] = None

    @property
    def is_digital(self) -> bool:
        return self.name.isdigit()

    @property
    def is_phone(self) -> bool:
        return is_phone_name(self.name)


# The per-operator fields senders.php lists for operators=1.
OPERATOR_FIELDS: Final = (
    "mega_step",
    "mega_int",
    "bee_step",
    "motiv",
    "motiv_step",
    "motiv_int",
    "sber_step",
    "sber_int",
    "winmob_step",
    "volnamob_step",
    "mts_step",
    "mts_int",
    "tele2_step",
    "tele2",
    "tele2_int",
    "ua_reg",
    "ua_int",
    "by_reg",
    "by_int",
)


def _operator_of(key: str) -> str:
    """The operator field a key belongs to (``mts_step_sender`` → ``mts_step``), else the key."""
    known = [f for f in OPERATOR_FIELDS if key == f or key.startswith(f + "_")]
    return max(known, key=len) if known else key


class SenderOperators(SmscModel):
    """A sender name with its registration status at each operator (``mts_step``, ``ua_reg``…).

    senders.php: "if an operator has a replacement for the sender name, operators=1 also includes
    that replacement", without saying how. Whatever is not a documented status code (a number
    such as 79001234567, or a name) is read as the replacement for that key's operator.
    """

    id: Int
    name: Text = Field(alias="sender")
    statuses: dict[str, int] = Field(default_factory=dict)
    replacements: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_statuses(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        statuses: dict[str, int] = {}
        replacements: dict[str, str] = {}
        rest: dict[str, Any] = {}
        codes = {int(s) for s in OperatorStatus}
        for key, value in data.items():
            if key in ("id", "sender", "statuses", "replacements"):
                rest[key] = value
                continue
            text = "" if value is None else str(value).strip()
            if not text:
                continue
            if text.isdigit() and int(text) in codes:
                statuses[key] = int(text)
            else:
                replacements[_operator_of(key)] = text
        rest.setdefault("statuses", statuses)
        rest.setdefault("replacements", replacements)
        return rest


class Template(SmscModel):
    id: Int
    name: Text = ""
    format: Text = ""
    sender: Text = ""
    flag: Int = 0
    message: Text = ""

    @property
    def autosign(self) -> bool:
        return bool(self.flag & 1)


class Spending(SmscModel):
    """The figures of a ``get_stat`` or ``get_stat_all`` line: messages and money."""

    sms: Int = 0
    # users.php defines them crosswise: "<credit> - debit." and "<debit> - credit.", that is
    # <credit> is the money spent and <debit> the money credited (a top-up). Named by meaning.
    spent: Money = Field(default=Decimal(0), alias="credit")
    credited: Money = Field(default=Decimal(0), alias="debit")
    currency: Text = ""


class StatItem(Spending):
    """One line of ``get_stat_all``: an operation at one operator."""

    description: Text = ""
    operator: Text = ""
    mccmnc: Text = ""


class StatRow(Spending):
    """One subclient's line of ``get_stat``."""

    login: Text


class StatAllRow(SmscModel):
    """One subclient's per-operator breakdown (``get_stat_all``)."""

    login: Text
    items: list[StatItem] = Field(default_factory=list)


def _moment(value: Any) -> Any:
    """get.php dates: ``dd.mm.yyyy hh:mm:ss`` (or without seconds, or a bare date); empty: None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        for pattern in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
    return value


Moment = Annotated[datetime | None, BeforeValidator(_moment)]


class AccountStat(SmscModel):
    """The account's own totals for a period (get.php ``get_stat``).

    The page names the count ``<cnt>`` in its legend and ``sms`` in users.php's answers; both are
    read. ``credit`` is money spent and ``debit`` money credited, as on users.php.
    """

    login: Text = ""
    sms: Int = Field(default=0, validation_alias=AliasChoices("sms", "cnt"))
    spent: Money = Field(default=Decimal(0), alias="credit")
    credited: Money = Field(default=Decimal(0), alias="debit")
    currency: Text = ""


class MessageStatus(IntEnum):
    """Delivery status codes of SMSC's status page, as get_messages reports them."""

    NOT_FOUND = -3
    STOPPED = -2
    WAITING = -1
    SENT = 0
    DELIVERED = 1
    READ = 2
    EXPIRED = 3
    CLICKED = 4
    UNDELIVERABLE = 20
    WRONG_NUMBER = 22
    PROHIBITED = 23
    NO_FUNDS = 24
    UNAVAILABLE = 25


class SentMessage(SmscModel):
    """One message of get.php ``get_messages`` (newest first; ``int_id`` pages with prev_id)."""

    int_id: Int
    id: Text = ""
    status: Int = 0
    status_name: Text = ""
    err: Int = 0
    send_date: Moment = None
    send_timestamp: OptInt = None
    last_date: Moment = None
    last_timestamp: OptInt = None
    phone: Text = ""
    cost: Money = Decimal(0)
    sender: Text = Field(default="", validation_alias=AliasChoices("sender_id", "sender"))
    message: Text = ""

    @property
    def sent_at(self) -> datetime | None:
        """When it was sent, as SMSC wrote it (its own local time); else from the time stamp."""
        if self.send_date is not None:
            return self.send_date
        if self.send_timestamp:
            return datetime.fromtimestamp(self.send_timestamp)
        return None
