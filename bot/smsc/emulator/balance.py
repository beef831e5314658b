"""``/sys/balance.php``: the account's balance."""

from __future__ import annotations

from .state import Call, is_set, money
from .wire import Answer


def handle(call: Call) -> Answer:
    """The balance, with the currency when ``cur=1``."""
    account = call.account
    balance = money(account.balance)
    # (inferred) fmt 0–2: the notes give only the JSON answer.
    if not is_set(call.params, "cur"):
        xml = f"<result>\n<balance>{balance}</balance>\n</result>"
        return Answer(balance, balance, xml, {"balance": balance})
    return Answer(
        f"{balance}, {account.currency}",
        f"{balance},{account.currency}",
        f"<result>\n<balance>{balance}</balance>\n<currency>{account.currency}</currency>\n</result>",
        {"balance": balance, "currency": account.currency},
    )
