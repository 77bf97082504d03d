"""The whole DISCO stack for real browsers: LiveKit, Redis and Postgres (tests/conftest.py), an
agent worker and the API serving the built client, and Debian's Chromium driven by Playwright
with a fake camera and microphone.

The browser tests get settings of their own (agent name, lobby room, Redis prefix and the short
test catalogue), so their worker and lobby never mix with the integration tests' ones. Nothing
here skips: a missing build, browser or server fails the test that needs it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Playwright,
    ViewportSize,
    async_playwright,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lobby.settings import Settings
from scripts.stack import ROOT, Stack, free_port, port_free
from tests.browser.people import Choice, Person, meet
from tests.support.wait import wait_http_ready
from tests.support.worker import Worker, own_settings, settings_env, start_worker

CHROMIUM = "/usr/bin/chromium"
WEB_DIST = ROOT / "web" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
# Casual talks that last, and a quick debate whose turns take seconds. Seats are held 20 s: on
# a loaded two-core machine a browser may take seconds to reconnect, and a debate lost to that
# is not what these tests look at.
TEST_FORMATS = Path(__file__).with_name("formats.json")
# A match proposal must be answered within this many seconds in the browser tests.
ACCEPT_TIMEOUT = 15

COMMON_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # LiveKit binds to loopback (livekit.yaml); let Chromium use loopback ICE candidates too,
    # which it leaves out by default.
    "--allow-loopback-in-peer-connection",
]
FAKE_MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def browser_settings(settings: Settings) -> Settings:
    return own_settings(
        settings, "web", formats_file=str(TEST_FORMATS), accept_timeout=ACCEPT_TIMEOUT
    )


# The logs a failing browser test shows (CI prints only pytest's output).
_LOGS = pytest.StashKey[list[Path]]()
LOG_LINES = 60


@pytest.fixture(scope="session")
def browser_worker(
    stack: Stack, browser_settings: Settings, request: pytest.FixtureRequest
) -> Iterator[Worker]:
    w = start_worker(stack, browser_settings, name="browser-worker")
    request.config.stash[_LOGS] = [w.log, stack.run_dir / "browser-api.log"]
    yield w
    w.stop()


def _story(log: Path, since: float) -> list[str]:
    """DISCO's own lines and every warning of a log, from `since` (epoch seconds) on. The
    worker logs JSON; the API logs `date time,ms LEVEL name message` in local time."""
    out = []
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            try:
                d = json.loads(line)
                at = dt.datetime.fromisoformat(d["timestamp"]).timestamp()
                level, name, text = d.get("level", ""), d.get("name", ""), d["message"][:160]
                extra = {
                    k: v
                    for k, v in d.items()
                    if k in ("room", "side", "reason", "outcome", "method", "code")
                }
            except (ValueError, KeyError, TypeError):
                parts = [*line.split(" ", 4), "", "", ""]
                try:
                    at = dt.datetime.strptime(
                        " ".join(parts[:2]), "%Y-%m-%d %H:%M:%S,%f"
                    ).timestamp()
                except ValueError:
                    continue
                level, name, text, extra = parts[2], parts[3], parts[4][:160], {}
            if at >= since and (name.startswith("disco") or level in ("WARNING", "ERROR")):
                out.append(f"{dt.datetime.fromtimestamp(at):%H:%M:%S.%f} {level} {text} {extra}")
    return out[-LOG_LINES:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for log in item.config.stash.get(_LOGS, []):
        lines = _story(log, call.start)
        if lines:
            report.sections.append((f"{log.stem} during the test", "\n".join(lines)))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # The agent worker drains its jobs on SIGTERM; past that it is killed.
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def site(
    stack: Stack, browser_settings: Settings, browser_worker: Worker, api_port: int
) -> Iterator[Site]:
    """`python -m api` serving web/dist, with the browser settings. It listens on `api_port`
    (where LiveKit sends its webhooks) unless another API of the test run already does."""
    if not (WEB_DIST / "index.html").is_file():
        raise RuntimeError("web/dist is missing: run `make install` (npm ci and npm run build)")
    port = api_port if port_free(api_port) else free_port()
    settings = dataclasses.replace(browser_settings, api_port=port)
    env = {
        **os.environ,
        **settings_env(settings),
        "DISCO_WEB_DIR": str(WEB_DIST),
        "DISCO_API_HOST": "127.0.0.1",
        "DISCO_ROOM_TOKEN_TTL": "300",
    }
    proc = stack.spawn("browser-api", [sys.executable, "-m", "api"], env)
    url = f"http://127.0.0.1:{port}"
    # Its log, if it never answers: stack.run_dir / "browser-api.log".
    wait_http_ready(f"{url}/healthz", 30, alive=lambda: proc.poll() is None)
    yield Site(url, settings)
    _stop(proc)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
async def playwright(chromium: str) -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """Chromium with a fake camera and microphone that are allowed without asking."""
    b = await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*FAKE_MEDIA_ARGS, *COMMON_ARGS]
    )
    yield b
    await b.close()


@pytest.fixture(scope="session")
async def denying_browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """Chromium with a fake camera but no automatic yes: a context that was not granted the
    camera is refused, as when a person clicks "Block"."""
    b = await playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--use-fake-device-for-media-stream", *COMMON_ARGS],
    )
    yield b
    await b.close()


@pytest.fixture
async def contexts(browser: Browser, site: Site) -> AsyncIterator[list[BrowserContext]]:
    """Two separate people in separate contexts (storage, cookies): a laptop and a phone."""
    made: list[BrowserContext] = []
    sizes: list[ViewportSize] = [{"width": 1280, "height": 800}, {"width": 390, "height": 844}]
    for size in sizes:
        made.append(await browser.new_context(base_url=site.url, viewport=size))
    yield made
    for c in made:
        await c.close()


Pairing = Callable[[str, tuple[str, str], int, Choice], Awaitable[tuple[Person, Person]]]


@pytest.fixture
def paired(contexts: list[BrowserContext], artifacts: Path) -> Pairing:
    """`paired(label, names, topic_index, choice)`: two people, each in a browser context of
    their own, proposed to each other (their screenshots under `label`)."""

    async def pair(
        label: str, names: tuple[str, str], topic_index: int, choice: Choice
    ) -> tuple[Person, Person]:
        a = await Person.open(contexts[0], names[0], artifacts, label)
        b = await Person.open(contexts[1], names[1], artifacts, label)
        await meet(a, b, topic_index, choice)
        return a, b

    return pair


@pytest.fixture
async def site_db(site: Site) -> AsyncIterator[AsyncEngine]:
    """The site's Postgres, for what no page can set up: an administrator's changes, or a
    past that takes months to happen."""
    engine = create_async_engine(site.settings.async_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def unique_email(who: str) -> str:
    return f"{who}-{secrets.token_hex(4)}@example.com"
