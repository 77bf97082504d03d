"""The aiohttp application: `create_app(settings)` wires the routes, the error middleware, the
resources (each opened and closed in one cleanup_ctx entry) and the built web client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware
from livekit import api as lk
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from api import (
    accounts,
    audience,
    feedback,
    health,
    keeper,
    moderation,
    nodes,
    reconcile,
    rooms,
    safety,
    supervisor,
    webhook,
)
from api.auth import Passwords, Sessions
from api.cache import ExpiringCache
from api.errors import ApiError, NotFound, Unavailable, from_gateway, is_outage
from api.keys import (
    AUDIENCES,
    DB,
    LIMITER,
    LIVEKIT,
    LOBBY_STORE,
    LOBBY_TOKENS,
    PASSWORDS,
    REDIS,
    REGISTER_LIMITER,
    SANCTIONS,
    SESSIONS,
    SETTINGS,
    USERS,
    WEBHOOKS,
)
from api.ratelimit import LoginLimiter, RegisterLimiter
from api.tokens import LobbyTokens, livekit_urls
from lobby import names
from lobby.audience import Audiences
from lobby.db import Database
from lobby.db.errors import GatewayError
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import LobbyStore

log = logging.getLogger(__name__)

# aiohttp refuses bodies over this with 413 before a handler runs; JSON routes allow less
# (api.validation.MAX_JSON_BODY). LiveKit's webhook bodies carry room and participant info.
MAX_BODY = 256 * 1024

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers())


_NOT_CLIENT = ("/api/", "/livekit/", "/healthz", "/readyz")

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def errors_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Every failure answers `{"error": {"code", "message"}}` with its status."""
    try:
        return await handler(request)
    except ApiError as error:
        return _error_response(error)
    except GatewayError as refused:
        return _error_response(from_gateway(refused))
    except web.HTTPException as http:
        if http.status < 400:
            raise
        code = _HTTP_CODES.get(http.status, "http_error")
        body = {"error": {"code": code, "message": http.reason}}
        headers = {k: v for k, v in http.headers.items() if k.lower() == "allow"}
        return web.json_response(body, status=http.status, headers=headers)
    except Exception as error:
        if is_outage(error):
            # Redis, Postgres or LiveKit is away: the client retries, nothing is wrong here.
            log.warning(
                "request failed: a server is unreachable",
                extra={"path": request.path, "error": type(error).__name__},
            )
            return _error_response(Unavailable(request.app[SETTINGS].outage_retry_after))
        log.exception("request failed", extra={"path": request.path, "method": request.method})
        return _error_response(ApiError())


async def _postgres(app: web.Application) -> AsyncIterator[None]:
    # No pre-ping (a round trip per checkout); a connection that fails is discarded by the
    # pool, and recycling bounds the age of idle ones. Connecting, waiting for a pooled
    # connection and every query are bounded, so a Postgres that stops answering fails a
    # request (503) instead of hanging it.
    settings = app[SETTINGS]
    db = Database.connect(
        settings.async_database_url, settings.database_timeout, 10, pre_ping=False
    )
    app[DB] = db
    yield
    await db.aclose()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Every connect and reply bounded: a paused Redis fails a request instead of hanging it.
    # One immediate retry on a fresh connection covers a Redis that restarted since the
    # pooled one was opened; no more, so an outage answers within two timeouts.
    client = Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        retry=Retry(NoBackoff(), 1),
    )
    app[REDIS] = client
    app[LIMITER] = LoginLimiter(client, settings.redis_prefix)
    app[REGISTER_LIMITER] = RegisterLimiter(
        client, settings.redis_prefix, limit=settings.register_limit
    )
    app[LOBBY_STORE] = LobbyStore(client, settings.redis_prefix)
    app[SANCTIONS] = Sanctions(client, settings.redis_prefix)
    app[AUDIENCES] = Audiences(client, settings.redis_prefix)
    yield
    await client.aclose()


async def _livekit(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    client = lk.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
    app[LIVEKIT] = client
    yield
    await client.aclose()


def _web_client(root: Path) -> Middleware:
    """Serves the built client for GET requests no route answers; a path that is not a file
    gets index.html, so the client's own routes survive a reload. API paths keep their JSON
    404, and a wrong method on an API route its 405."""
    root = root.resolve()
    index = root / "index.html"

    @web.middleware
    async def web_client(request: web.Request, handler: _Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            if request.method not in ("GET", "HEAD") or request.path.startswith(_NOT_CLIENT):
                raise
        wanted = (root / request.path.lstrip("/")).resolve()
        if wanted.is_relative_to(root) and wanted.is_file():
            return web.FileResponse(wanted)
        if not index.is_file():
            raise NotFound()
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    return web_client


def _livekit_origins(url: str) -> list[str]:
    """The origins a browser reaches LiveKit at: the signalling WebSocket, and the same host
    over HTTP(S), where livekit-client asks why a connection failed."""
    parts = urlsplit(url)
    secure = parts.scheme in ("wss", "https")
    return [
        f"{'wss' if secure else 'ws'}://{parts.netloc}",
        f"{'https' if secure else 'http'}://{parts.netloc}",
    ]


def security_headers(settings: Settings) -> dict[str, str]:
    """Headers every response carries. The policy lets the built client load only its own
    scripts and styles, talk only to this API and LiveKit's public URL, and never be framed;
    camera and microphone are for this origin alone."""
    # The same list the lobby-token route hands out: a client connects to nothing else.
    origins = [o for url in livekit_urls(settings) for o in _livekit_origins(url)]
    connect = " ".join(["'self'", *origins])
    policy = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"connect-src {connect}",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return {
        "Content-Security-Policy": "; ".join(policy),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": (
            "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()"
        ),
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _add_headers(
    headers: dict[str, str],
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    # A response_prepare hook, not a middleware: it also reaches responses made outside the
    # handlers (aiohttp's own errors, static files).
    async def add(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    return add


def create_app(settings: Settings) -> web.Application:
    # Built now, not on the first registration, which would stall every request of that moment.
    names.load_tables()
    middlewares: list[Middleware] = [errors_middleware]
    web_dir = Path(settings.web_dir)
    if web_dir.is_dir():
        middlewares.append(_web_client(web_dir))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app.on_response_prepare.append(_add_headers(security_headers(settings)))
    app[SESSIONS] = Sessions(
        secret=settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
    )
    app[PASSWORDS] = Passwords()
    app[LOBBY_TOKENS] = LobbyTokens(settings)
    app[USERS] = ExpiringCache(accounts.CACHED_USERS)
    verifier = lk.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret)
    app[WEBHOOKS] = lk.WebhookReceiver(verifier)
    app.cleanup_ctx.extend(
        [
            _postgres,
            _redis,
            _livekit,
            nodes.nodes_context,
            keeper.keeper_context(settings),
            reconcile.reconciler,
        ]
    )
    app.cleanup_ctx.append(supervisor.supervisor_context)
    app.cleanup_ctx.append(safety.sanctions_keeper)
    for module in (health, accounts, rooms, feedback, moderation, audience, webhook):
        app.add_routes(module.routes)
    return app
