"""LiveKit's server API as the tests reach it: with the URL and keys of the settings at hand."""

from __future__ import annotations

from livekit import api

from lobby.settings import Settings


def server_api(settings: Settings) -> api.LiveKitAPI:
    """A client of the server API of `settings`' LiveKit; close it (or use it in `async with`)."""
    return api.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
