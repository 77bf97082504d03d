"""`python -m api`: serve the API and the built web client on DISCO_API_HOST:DISCO_API_PORT."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from api.app import create_app
from lobby.settings import ConfigError, Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        # One line naming the variable, and a non-zero exit, before anything listens.
        sys.exit(f"API not started: {error}")
    web.run_app(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        access_log=None,
        print=lambda message: logging.getLogger("api").info("listening"),
    )


if __name__ == "__main__":
    main()
