"""The SMSC sites a customer can have an account on."""

from __future__ import annotations

from enum import StrEnum


class Site(StrEnum):
    """One SMSC site; the API is the same on each, accounts are not shared between them."""

    RU = "smsc.ru"
    COM = "smscentre.com"
    KZ = "smsc.kz"
    UA = "smsc.ua"

    @property
    def base_url(self) -> str:
        return f"https://{self.value}"

    @property
    def backup_url(self) -> str:
        """The documented backup host, used only when the main one cannot be reached."""
        return f"https://www2.{self.value}"

    @property
    def region(self) -> str:
        """Default country for parsing phone numbers typed without a country code."""
        return {Site.KZ: "KZ", Site.UA: "UA"}.get(self, "RU")
