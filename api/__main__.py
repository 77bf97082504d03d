"""`python -m api`: serve the API and the built web client on DISCO_API_HOST:DISCO_API_PORT."""

from __future__ import annotations

import logging

from aiohttp import web

from api.app import create_app
from lobby.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    web.run_app(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        access_log=None,
        print=lambda message: logging.getLogger("api").info("listening"),
    )


if __name__ == "__main__":
    main()
