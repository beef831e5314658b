"""``python -m bot.smsc.emulator``: serve the emulator with the demo account until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .demo import DEMO_APIKEY, DEMO_LOGIN, DEMO_PASSWORD
from .server import SmscEmulator

log = logging.getLogger("bot.smsc.emulator")


async def serve(host: str, port: int, latency: float) -> None:
    """Run until cancelled."""
    emulator = SmscEmulator(latency=latency)
    url = await emulator.start(host, port)
    log.info("SMSC emulator at %s/sys/<script>.php", url)
    log.info("demo account: login=%s psw=%s apikey=%s", DEMO_LOGIN, DEMO_PASSWORD, DEMO_APIKEY)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m bot.smsc.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.latency))


if __name__ == "__main__":
    main()
