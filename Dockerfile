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
# The database is opened at start; a process that can still read it is alive.
HEALTHCHECK --interval=60s --timeout=5s --start-period=30s \
    CMD python -c "import os, sqlite3; sqlite3.connect(os.path.join(os.environ['DATA_DIR'], 'smsc-bot.sqlite3'), timeout=3).execute('select 1')" || exit 1
CMD ["python", "-m", "bot"]
