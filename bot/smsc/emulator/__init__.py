"""A stateful emulator of the SMSC HTTP API, for tests and the bot's demo account.

Run it standalone with ``python -m bot.smsc.emulator --port 8099``.
"""

from .demo import DEMO_APIKEY, DEMO_LOGIN, DEMO_PASSWORD, DEMO_UNDELIVERABLE
from .get import seed_messages
from .server import Fault, RecordedRequest, SmscEmulator
from .state import (
    Account,
    BlackEntry,
    Contact,
    Group,
    LedgerEntry,
    Sender,
    SentSms,
    Shapes,
    Subclient,
    Template,
)

__all__ = [
    "DEMO_APIKEY",
    "DEMO_LOGIN",
    "DEMO_PASSWORD",
    "DEMO_UNDELIVERABLE",
    "Account",
    "BlackEntry",
    "Contact",
    "Fault",
    "Group",
    "LedgerEntry",
    "RecordedRequest",
    "Sender",
    "SentSms",
    "Shapes",
    "SmscEmulator",
    "Subclient",
    "Template",
    "seed_messages",
]
