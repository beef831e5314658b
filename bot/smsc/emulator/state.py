"""The emulated SMSC account: its records, and the parsing rules the scripts share."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .wire import ApiError, Params

# Per-operator status fields of senders.php, in the order of the page's fmt=3 answer.
OPERATOR_FIELDS = (
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
OPERATOR_STATUSES = frozenset({0, 1, 2, 3, 4, 5, 8, 9, 255})

# Distinct ranges per kind, so a test that passes a group id where a contact id belongs fails.
_ID_BASES = {
    "contact": 100_000,
    "group": 500,
    "black": 70_000,
    "sender": 3_000,
    "template": 9_000,
    "user": 40_000,
    "message": 5_000_000,
}


@dataclass
class Contact:
    """A phones.php contact; ``phones`` are digits only."""

    id: int
    phones: list[str]
    name: str = ""
    groups: list[int] = field(default_factory=list)
    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    birthday: str = ""
    myid: str = ""
    comments: str = ""
    tags: str = ""
    phone_other: str = ""


@dataclass
class Group:
    """A contact group; ``type`` 0 holds phone numbers, 1 e-mail addresses."""

    id: int
    name: str
    number: int = 0
    type: int = 0


@dataclass
class BlackEntry:
    """A black-list entry; ``type`` 0 blocks everything, 1 mass mailings, 2 single messages."""

    id: int
    phone: str
    type: int = 0
    comment: str = ""


@dataclass
class Sender:
    """A sender name; ``status`` 0 awaits moderation, 1 approved, 2 disabled."""

    id: int
    name: str
    status: int = 0
    comment: str = ""
    operators: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPERATOR_FIELDS, 0))
    # Operator field → the name that operator puts in its place (a number or text). The page
    # says operators=1 includes it but not where: here it stands in that operator's field.
    replacements: dict[str, str] = field(default_factory=dict)

    @property
    def digital(self) -> bool:
        """A name made of digits only: a phone number confirmed by a code."""
        return self.name.isdigit()


@dataclass
class Template:
    """A message template; bit 1 of ``flag`` (fl[1]) marks an auto-signature."""

    id: int
    name: str
    message: str = ""
    format: str = ""
    sender: str = ""
    flag: int = 0


@dataclass
class LedgerEntry:
    """One dated line of a subclient's statistics.

    ``credit`` is money spent on messages and ``debit`` money credited to the subclient, by meaning
    (the English page swaps the words).
    """

    day: date
    description: str
    operator: str = ""
    mccmnc: str = ""
    sms: int = 0
    credit: Decimal = Decimal("0")
    debit: Decimal = Decimal("0")


@dataclass
class SentSms:
    """A message the account sent, as get.php get_messages lists it (``when`` in SMSC's time)."""

    int_id: int
    phone: str
    when: datetime
    message: str
    sender: str = ""
    status: int = 1
    err: int = 0
    cost: Decimal = Decimal("1.50")
    sms_cnt: int = 1


@dataclass
class Subclient:
    """A users.php subclient; types 2, 3 and 4 spend the main account's balance."""

    id: int
    login: str
    password: str
    type: int = 0
    phone: str = ""
    email: str = ""
    fio: str = ""
    fmts: str = ""
    flags: set[int] = field(default_factory=set)
    balance: Decimal = Decimal("0")
    currency: str = "RUB"
    ledger: list[LedgerEntry] = field(default_factory=list)

    @property
    def shares_main_balance(self) -> bool:
        """Whether ``pay`` makes no sense for this subclient (error 7)."""
        return self.type in (2, 3, 4)


@dataclass
class Account:
    """One SMSC login with everything its scripts manage; tests read and change it directly."""

    login: str
    password: str
    apikey: str | None = None
    balance: Decimal = Decimal("0")
    currency: str = "RUB"
    contacts: dict[int, Contact] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    black: dict[int, BlackEntry] = field(default_factory=dict)
    senders: dict[int, Sender] = field(default_factory=dict)
    templates: dict[int, Template] = field(default_factory=dict)
    subclients: dict[str, Subclient] = field(default_factory=dict)
    # The account's own statistics (get.php get_stat): its sent messages and its ledger lines
    # (top-ups, other charges); get_messages lists ``sent``.
    sent: list[SentSms] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    last_ids: dict[str, int] = field(default_factory=lambda: dict(_ID_BASES))

    def new_id(self, kind: str) -> int:
        """The next id for a record of ``kind`` (contact, group, black, sender, template, user)."""
        self.last_ids[kind] += 1
        return self.last_ids[kind]

    def add_black(self, phone: str, kind: int = 0, comment: str = "") -> BlackEntry:
        """Black-list ``phone`` (digits) as add_black does: a listed number is updated in place."""
        entry = next((e for e in self.black.values() if e.phone == phone), None)
        if entry is None:
            entry = BlackEntry(self.new_id("black"), phone, kind, comment)
            self.black[entry.id] = entry
        else:
            entry.type, entry.comment = kind, comment
        return entry

    def contact_by_phone(self, phone: str) -> Contact | None:
        """The contact holding ``phone`` (digits only)."""
        return next((c for c in self.contacts.values() if phone in c.phones), None)

    def sender_by_name(self, name: str) -> Sender | None:
        """The sender called ``name``, compared without regard to case."""
        folded = name.casefold()
        return next((s for s in self.senders.values() if s.name.casefold() == folded), None)


@dataclass
class CodeDesk:
    """Confirmation codes sent to digital sender names, kept where tests can read them."""

    retry_after: float
    undeliverable: set[str] = field(default_factory=set)
    sent_codes: dict[str, str] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class Shapes:
    """Answers the pages allow besides the emulator's usual ones; tests switch them on.

    ``contact_int_id``: contact rows carry the server's ``int_id`` beside the client's ``id``
    (the page's fmt=3 example shows only ``id``). ``phone_separator`` joins a contact's numbers
    (the page: "separated by any separator"). ``black_readd_error``: adding a listed number
    again answers this error code instead of changing the entry (the page does not describe a
    re-add). ``template_chg_keeps``: a template change keeps the fields it does not name (the page
    does not promise it; False blanks them).
    """

    contact_int_id: bool = True
    phone_separator: str = ","
    black_readd_error: int | None = None
    template_chg_keeps: bool = True


@dataclass
class Call:
    """What a script's command needs: the authorised account, the parameters and the clock."""

    account: Account
    params: Params
    now: float
    codes: CodeDesk
    shapes: Shapes = field(default_factory=Shapes)


def is_set(params: Params, key: str) -> bool:
    """Whether a flag such as ``get=1`` is present; ``0`` or empty means absent."""
    return params.get(key, "").strip() not in ("", "0")


def digits(text: str) -> str:
    """Only the digits of ``text``."""
    return "".join(ch for ch in text if ch.isdigit())


_PHONE_CHARS = re.compile(r"^[\d\s+().\-]+$")
# "Separated by any separator": anything that cannot be part of one written number.
_PHONE_SEPARATORS = re.compile(r"[^\d +().\-]+")


def parse_phone(text: str) -> str:
    """One phone number as digits; ``+7 (999) 123-45-67`` is accepted, anything odd is error 1."""
    text = text.strip()
    number = digits(text)
    if not _PHONE_CHARS.match(text) or not 7 <= len(number) <= 15:
        raise ApiError(1)
    return number


def split_phones(text: str) -> list[str]:
    """Numbers split at any separator; blanks split only where one number would be too long."""
    numbers: list[str] = []
    for chunk in _PHONE_SEPARATORS.split(text):
        if not chunk.strip():
            continue
        parts = chunk.split() if len(digits(chunk)) > 15 else [chunk]
        numbers.extend(parse_phone(part) for part in parts)
    if not numbers:
        raise ApiError(1)
    return list(dict.fromkeys(numbers))


def parse_int(text: str | None, default: int) -> int:
    """An integer parameter; absent or empty gives ``default``, anything non-numeric error 1."""
    if text is None or not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise ApiError(1) from None


def parse_date(text: str) -> date:
    """A dd.mm.yyyy date, else error 1."""
    try:
        return datetime.strptime(text.strip(), "%d.%m.%Y").date()
    except ValueError:
        raise ApiError(1) from None


def parse_money(text: str | None) -> Decimal:
    """A positive amount such as ``100``, ``100.50`` or ``100,50``, else error 1."""
    try:
        amount = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation:
        raise ApiError(1) from None
    if not amount.is_finite() or amount <= 0:
        raise ApiError(1)
    return amount.quantize(Decimal("0.01"))


def money(amount: Decimal) -> str:
    """An amount as SMSC writes it: two decimals."""
    return str(amount.quantize(Decimal("0.01")))
