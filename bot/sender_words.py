"""How a sender name's status at an operator and the operators themselves are named: shared by
/senders and the notifications of a status change."""

from __future__ import annotations

from typing import Final

from aiogram.utils.i18n import gettext as _

from bot.commands import N_
from bot.smsc.models import OperatorStatus

OPERATOR_STATUS_WORDS: Final = {
    OperatorStatus.AWAITING: N_("awaiting registration"),
    OperatorStatus.SUBMITTED: N_("sent for registration"),
    OperatorStatus.APPROVED: N_("approved by the operator"),
    OperatorStatus.REJECTED: N_("rejected by the operator"),
    OperatorStatus.SUSPENDED: N_("temporarily disabled"),
    OperatorStatus.NO_FUNDS: N_("not enough money on the account"),
    OperatorStatus.DOCUMENTS_NEEDED: N_("supporting documents needed"),
    OperatorStatus.FROM_MONTH_START: N_("activated from the start of the month"),
    OperatorStatus.DEREGISTERING: N_("approved, marked for deregistration"),
}
# The page names the per-operator fields but not what each one is; the labels are our reading.
# Bare ``tele2`` and ``motiv`` sit beside ``tele2_step`` and ``motiv_step``, so they keep their key.
OPERATOR_LABELS: Final = {
    "mts_step": N_("MTS"),
    "mega_step": N_("MegaFon"),
    "bee_step": N_("Beeline"),
    "tele2_step": N_("Tele2"),
    "tele2": N_("Tele2 (tele2)"),
    "motiv_step": N_("Motiv"),
    "motiv": N_("Motiv (motiv)"),
    "sber_step": N_("SberMobile"),
    "winmob_step": N_("Win Mobile"),
    "volnamob_step": N_("Volna Mobile"),
    "ua_reg": N_("Ukraine"),
    "by_reg": N_("Belarus"),
    "mts_int": N_("MTS, international"),
    "mega_int": N_("MegaFon, international"),
    "tele2_int": N_("Tele2, international"),
    "motiv_int": N_("Motiv, international"),
    "sber_int": N_("SberMobile, international"),
    "ua_int": N_("Ukraine, international"),
    "by_int": N_("Belarus, international"),
}


def operator_status_text(code: int) -> str:
    try:
        return _(OPERATOR_STATUS_WORDS[OperatorStatus(code)])
    except ValueError:
        return _("status {code}").format(code=code)


def operator_label(key: str) -> str:
    label = OPERATOR_LABELS.get(key)
    return _(label) if label is not None else key
