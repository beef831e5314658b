"""deploy/compose.yaml read as docker compose would: what it runs and how the parts connect."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_postgres_redis_three_bot_replicas_and_nginx() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "bot", "nginx"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["bot"]["deploy"]["replicas"] == 3
    assert services["bot"]["build"] == ".."
    assert (DEPLOY / ".." / "Dockerfile").is_file()
    for needed in ("postgres", "redis"):
        assert services["bot"]["depends_on"][needed] == {"condition": "service_healthy"}
        assert "healthcheck" in services[needed]
    assert services["nginx"]["ports"] == ["443:443"]


def test_the_bots_settings_are_real_settings_and_make_webhook_replicas() -> None:
    env = compose()["services"]["bot"]["environment"]
    known = {name.upper() for name in Settings.model_fields}
    assert set(env) <= known
    assert env["REPLICAS"] == str(compose()["services"]["bot"]["deploy"]["replicas"])
    assert env["DATABASE_URL"].startswith("postgresql://smscbot:${POSTGRES_PASSWORD}@postgres:")
    assert env["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD}@redis:6379")
    assert env["WEBHOOK_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container, for nginx
    assert env["WEBHOOK_PORT"] == "8080"


def test_no_secret_is_written_in_the_file() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    for name in (
        "BOT_TOKEN",
        "SECRET_KEY",
        "WEBHOOK_SECRET",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
    ):
        values = re.findall(rf"{name}: (.+)", text)
        assert values and all(v.startswith("${") for v in values), name
        assert f"{name}=" in (DEPLOY / ".env.example").read_text()


def test_nginx_sends_the_webhook_to_the_bot_replicas() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    assert conf.count("{") == conf.count("}")
    assert re.search(r"upstream bot \{[^}]*server bot:8080", conf)
    webhook = re.search(r"location = /telegram/webhook \{([^}]*)\}", conf)
    assert webhook is not None and "proxy_pass http://bot;" in webhook.group(1)
    volumes = compose()["services"]["nginx"]["volumes"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in volumes
