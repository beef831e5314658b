"""Settings from the environment or a ``.env`` file; secrets are ``SecretStr``, never printed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Final

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# What @BotFather hands out: the bot's numeric id, a colon, 35 URL-safe characters.
_TOKEN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
# The URLs a setting takes: what bot.storage.engine opens (a SQLite file or a PostgreSQL server)
# and what redis-py connects to.
URL_SCHEMES: Final = {
    "database_url": ("sqlite:///", "postgresql://", "postgres://"),
    "redis_url": ("redis://", "rediss://", "unix://"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    telegram_api_url: str | None = None
    smsc_api_url: str | None = None
    data_dir: Path = Path("data")
    secret_key: SecretStr | None = None
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"  # noqa: S104 - a webhook server listens on every interface
    webhook_port: int = 8080
    # Without a secret the webhook takes any POST as an update from Telegram: only on purpose.
    webhook_insecure: bool = False
    demo: bool = False
    # False handles updates one at a time, in order (deterministic tests, debugging).
    polling_tasks: bool = True
    smsc_max_concurrency: int = Field(default=4, ge=1, le=14)
    smsc_timeout: float = Field(default=20.0, gt=0)
    smsc_cache_ttl: float = Field(default=20.0, ge=0)
    # How often each followed SMSC account's balance is read for notifications (jittered per
    # account); sender names are read hourly whatever this says.
    notify_poll_seconds: int = Field(default=600, ge=60, le=86400)
    # Several replicas (docs/scaling.md): the shared database and the shared SMSC limits. URLs
    # may carry passwords, so they are secrets too.
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    # How many copies of the bot run against this database; more than 1 needs REDIS_URL.
    replicas: int = Field(default=1, ge=1)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value().strip()):
            # The value is deliberately not echoed: it is a secret even when malformed.
            raise ValueError("BOT_TOKEN does not look like a bot token")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("database_url", "redis_url")
    @classmethod
    def _url_scheme(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # Caught here, so a typo is the one "Invalid settings" line rather than a traceback later.
        schemes = URL_SCHEMES[str(info.field_name)]
        if value is not None and not value.get_secret_value().startswith(schemes):
            names = ", ".join(schemes)
            raise ValueError(f"{str(info.field_name).upper()} must start with one of: {names}")
        return value

    @field_validator("allowed_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in re.split(r"[\s,;]+", value) if part)
        return value

    @field_validator("telegram_api_url", "smsc_api_url", "webhook_url", mode="after")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None


BOTFATHER_HINT = (
    "BOT_TOKEN is {problem}. Open @BotFather in Telegram, send /newbot (or /token for an existing "
    "bot), and put the token it gives you in BOT_TOKEN (environment or .env file)."
)


UNGUARDED_WEBHOOK = (
    "WEBHOOK_URL is set without WEBHOOK_SECRET: anyone who finds the server could post fake "
    "updates to it. Set WEBHOOK_SECRET (1-256 characters: A-Z, a-z, 0-9, _ and -), or "
    "WEBHOOK_INSECURE=1 if something in front of the bot checks the requests."
)


NO_SHARED_LIMITS = (
    "REPLICAS={n} needs REDIS_URL: without it each replica counts SMSC's limits on its own and "
    "together they would get the server's IP blocked (see docs/scaling.md)."
)
NO_SHARED_DATABASE = (
    "REPLICAS={n} needs DATABASE_URL=postgresql://...: replicas cannot share a SQLite file "
    "(see docs/scaling.md)."
)


def check_replicas(settings: Settings) -> None:
    """More than one replica only with what they must share: Redis and PostgreSQL."""
    if settings.replicas > 1:
        if settings.redis_url is None:
            raise SystemExit(NO_SHARED_LIMITS.format(n=settings.replicas))
        url = settings.database_url.get_secret_value() if settings.database_url else ""
        if not url.startswith(("postgresql://", "postgres://")):
            raise SystemExit(NO_SHARED_DATABASE.format(n=settings.replicas))


def load_settings() -> Settings:
    """Read the settings; a missing or malformed token becomes one line that says what to do."""
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"] and error["loc"][0] == "bot_token":
                problem = "missing" if error["type"] == "missing" else "malformed"
                raise SystemExit(BOTFATHER_HINT.format(problem=problem)) from None
        fields = ", ".join(str(e["loc"][0]).upper() for e in exc.errors() if e["loc"])
        raise SystemExit(f"Invalid settings: {fields}. See README.md, section Settings.") from None
    if settings.webhook_url and settings.webhook_secret is None and not settings.webhook_insecure:
        raise SystemExit(UNGUARDED_WEBHOOK)
    check_replicas(settings)
    return settings
