"""Liveness, readiness against the real servers (and against servers that are not there), and
the built web client served at `/`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from lobby.settings import Settings
from scripts.stack import free_port
from tests.api.helpers import error_of

Client = TestClient[Any, Any]


async def test_healthz(client: Client) -> None:
    r = await client.get("/healthz")
    assert r.status == 200
    assert await r.json() == {"status": "ok"}


async def test_readyz_with_every_server_up(client: Client) -> None:
    r = await client.get("/readyz")
    assert r.status == 200, await r.text()
    assert (await r.json())["status"] == "ready"


def _dead(settings: Settings, which: str) -> Settings:
    port = free_port()  # nothing listens there
    if which == "redis":
        return dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
    if which == "postgres":
        return dataclasses.replace(
            settings, database_url=f"postgresql://disco@127.0.0.1:{port}/disco"
        )
    return dataclasses.replace(settings, livekit_url=f"ws://127.0.0.1:{port}")


@pytest.mark.parametrize("which", ["redis", "postgres", "livekit"])
async def test_readyz_names_what_does_not_answer(app_settings: Settings, which: str) -> None:
    async with TestClient(TestServer(create_app(_dead(app_settings, which)))) as client:
        r = await client.get("/readyz")
        assert r.status == 503
        error = await error_of(r)
        assert error["code"] == "not_ready"
        assert which in error["message"]
        others = {"redis", "postgres", "livekit"} - {which}
        assert not any(name in error["message"] for name in others)
        assert (await client.get("/healthz")).status == 200


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>DISCO</title>")
    (root / "assets" / "app.js").write_text("console.log('disco')")
    (tmp_path / "secret.txt").write_text("not for the web")
    return root


async def test_the_web_client_is_served_with_an_index_fallback(
    app_settings: Settings, web_dir: Path
) -> None:
    settings = dataclasses.replace(app_settings, web_dir=str(web_dir))
    async with TestClient(TestServer(create_app(settings))) as client:
        for path in ("/", "/lobby", "/room/abc?x=1"):
            r = await client.get(path)
            assert r.status == 200, path
            assert "<title>DISCO</title>" in await r.text()
        r = await client.get("/assets/app.js")
        assert r.status == 200 and "disco" in await r.text()
        r = await client.get("/assets/../../secret.txt")
        assert "not for the web" not in await r.text()
        r = await client.get("/%2e%2e/secret.txt")
        assert "not for the web" not in await r.text()
        r = await client.get("/api/unknown")
        assert r.status == 404 and (await error_of(r))["code"] == "not_found"
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/api/topics")).status == 200
