# smsc-bot: slim Python, non-root, data in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY locales ./locales
RUN pip install . \
    # Fail the build on an incomplete or stale catalog rather than at the first message.
    && python -m bot.catalog check \
    && useradd --system --uid 10001 --home /nonexistent smscbot \
    && mkdir -p /data && chown smscbot /data

USER smscbot
VOLUME ["/data"]
# Healthy while the bot polls Telegram or serves the webhook: it touches DATA_DIR/heartbeat after
# every answered getUpdates (webhook: every 15 s), and the check fails when that is over 2 minutes old.
HEALTHCHECK --interval=60s --timeout=5s --start-period=30s \
    CMD python -m bot.health || exit 1
CMD ["python", "-m", "bot"]
