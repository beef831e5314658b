"""Async client for SMSC's HTTP API, its typed answers, and an emulator for tests and demos."""

from bot.smsc.client import Credentials, SmscClient, SmscConnector, SmscSettings
from bot.smsc.errors import SmscBadResponse, SmscClientError, SmscError, SmscUnavailable
from bot.smsc.sites import Site

__all__ = [
    "Credentials",
    "Site",
    "SmscBadResponse",
    "SmscClient",
    "SmscClientError",
    "SmscConnector",
    "SmscError",
    "SmscSettings",
    "SmscUnavailable",
]
