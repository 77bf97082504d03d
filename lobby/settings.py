"""One `Settings` object for every DISCO process, read from the environment once.

LiveKit variables keep the SDK's names (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET).
Everything is passed down explicitly; nothing reads `os.environ` after `from_env`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


# The LiveKit key pair committed in livekit.yaml for local runs and tests, and the pair
# `livekit-server --dev` uses: anyone who has read the repository holds them, so only a dev
# environment may use them (they mint any token, and sign webhooks).
DEV_LIVEKIT_KEY = "disco-local"
DEV_LIVEKIT_SECRET = "disco-local-secret-0123456789abcdef0123456789abcdef"
PUBLIC_LIVEKIT_SECRETS = frozenset({DEV_LIVEKIT_SECRET, "secret"})
# HS256 wants a key at least as long as its hash (RFC 7518 section 3.2).
MIN_JWT_SECRET = 32
ENVIRONMENTS = ("production", "dev")
# Every shard is a room the API's keeper checks every few seconds and an agent that scans the
# shared queues: far more than a few dozen buys nothing but load.
MAX_LOBBY_SHARDS = 64
# The job roles a worker can serve (lobby.contract's roles).
WORKER_ROLES = ("lobby", "moderator")


def _int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _items(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """The non-empty items of a comma-separated setting, stripped."""
    return tuple(x.strip() for x in env.get(name, "").split(",") if x.strip())


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or networks, each checked."""
    out = []
    for item in _items(env, name):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(out)


def _urls(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of LiveKit URLs, each checked."""
    out = _items(env, name)
    for url in out:
        _check_livekit_url(name, url)
    return out


def _check_livekit_url(name: str, url: str) -> None:
    if not url.startswith(("ws://", "wss://", "http://", "https://")):
        raise ConfigError(f"{name} must be a ws(s):// or http(s):// URL, got {url!r}")


def _roles(env: Mapping[str, str]) -> tuple[str, ...]:
    """DISCO_WORKER_ROLES: the job roles this worker takes (lobby, moderator); all by default."""
    raw = _items(env, "DISCO_WORKER_ROLES")
    wrong = [r for r in raw if r not in WORKER_ROLES]
    if wrong:
        raise ConfigError(
            f"DISCO_WORKER_ROLES must name roles among {', '.join(WORKER_ROLES)}, got {wrong[0]!r}"
        )
    return raw or WORKER_ROLES


def _nodes(env: Mapping[str, str], url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every LiveKit node (the URL servers use, the URL browsers get), one pair a node:
    DISCO_LIVEKIT_URLS and DISCO_LIVEKIT_PUBLIC_URLS, in the same order; one node,
    LIVEKIT_URL, by default."""
    inner = _urls(env, "DISCO_LIVEKIT_URLS")
    public = _urls(env, "DISCO_LIVEKIT_PUBLIC_URLS")
    if not inner:
        if len(public) > 1:
            raise ConfigError("DISCO_LIVEKIT_PUBLIC_URLS needs DISCO_LIVEKIT_URLS, one a node")
        return (url,), public or (env.get("DISCO_LIVEKIT_PUBLIC_URL", "") or url,)
    if public and len(public) != len(inner):
        raise ConfigError("DISCO_LIVEKIT_PUBLIC_URLS must name as many nodes as DISCO_LIVEKIT_URLS")
    return inner, public or inner


def _metrics(env: Mapping[str, str], nodes: int) -> tuple[str, ...]:
    """DISCO_LIVEKIT_METRICS_URLS: every node's Prometheus endpoint, in the order of
    DISCO_LIVEKIT_URLS, or none."""
    name = "DISCO_LIVEKIT_METRICS_URLS"
    out = _items(env, name)
    for url in out:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must be http(s):// URLs, got {url!r}")
    if out and len(out) != nodes:
        raise ConfigError(f"{name} must name as many nodes as DISCO_LIVEKIT_URLS ({nodes})")
    return out


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _environment(env: Mapping[str, str]) -> str:
    value = env.get("DISCO_ENV", "") or "production"
    if value not in ENVIRONMENTS:
        raise ConfigError(f"DISCO_ENV must be one of {', '.join(ENVIRONMENTS)}, got {value!r}")
    return value


def _check_secrets(env: Mapping[str, str]) -> None:
    """Refuse secrets anyone could know: a session secret short enough to guess or shared with
    LiveKit (whoever holds one could forge the other's tokens), and outside a dev environment
    the LiveKit key pair that ships with the repository."""
    jwt_secret = _required(env, "DISCO_JWT_SECRET")
    livekit_secret = _required(env, "LIVEKIT_API_SECRET")
    if len(jwt_secret.encode()) < MIN_JWT_SECRET:
        raise ConfigError(f"DISCO_JWT_SECRET must be at least {MIN_JWT_SECRET} bytes long")
    if jwt_secret == livekit_secret:
        raise ConfigError("DISCO_JWT_SECRET must not equal LIVEKIT_API_SECRET")
    if _environment(env) != "dev" and livekit_secret in PUBLIC_LIVEKIT_SECRETS:
        raise ConfigError(
            "LIVEKIT_API_SECRET is the key pair published in the repository; set your own "
            "LIVEKIT_API_KEY and LIVEKIT_API_SECRET, or DISCO_ENV=dev for a local run"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    livekit_url: str
    livekit_api_key: str
    livekit_api_secret: str = field(repr=False)
    redis_url: str
    database_url: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    # The public LiveKit URL handed to browsers (may differ from the one servers use).
    livekit_public_url: str = ""
    jwt_issuer: str = "disco"
    jwt_audience: str = "disco-web"
    access_token_ttl: int = 3600
    lobby_room: str = "disco-lobby"
    # Lobby rooms, each with its own lobby agent, all pairing from the same queues; the first
    # is `lobby_room`, the others append "-1", "-2", ... (lobby.contract.lobby_shard).
    lobby_shards: int = 1
    lobby_token_ttl: int = 600
    room_token_ttl: int = 600
    # Name every DISCO job is dispatched under; the job metadata says lobby or moderator.
    agent_name: str = "disco"
    accept_timeout: int = 20
    rematch_cooldown: int = 600
    redis_prefix: str = "disco"
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    web_dir: str = "web/dist"
    formats_file: str = ""
    # Proxies (addresses or networks) whose X-Forwarded-For the API believes for a client's
    # address (the failed-login limit per address); none by default.
    trusted_proxies: tuple[str, ...] = ()
    # A lobby participant that sends the lobby agent more than this many RPCs (or data
    # packets) per second, sustained over `flood_window` seconds, is removed from the lobby and
    # refused lobby tokens for `flood_ban` seconds.
    flood_rpc_rate: int = 20
    flood_packet_rate: int = 20
    flood_window: int = 5
    flood_ban: int = 600
    # "dev" allows the repository's LiveKit key pair (make dev and the tests); anything that
    # faces people runs as "production".
    environment: str = "production"
    # Registrations accepted per client address (an IPv6 /64 counts as one) per hour.
    register_limit: int = 30
    # Seconds DISCO waits for Redis (connecting, or any one reply) and for Postgres (connecting,
    # a free pooled connection, or any one query) before giving up: a server that stops
    # answering fails calls fast instead of hanging them. Commands refused for that reason
    # tell the caller to retry after `outage_retry_after` seconds.
    redis_timeout: int = 2
    database_timeout: int = 3
    outage_retry_after: int = 5
    # The API's reconciler runs at start and every `reconcile_period` seconds: it closes
    # discussions and releases matches whose LiveKit room is gone, once they are older than
    # `reconcile_grace` seconds (a room is created while its discussion row is written), and
    # prunes webhook event ids older than `webhook_retention` seconds.
    reconcile_period: int = 60
    reconcile_grace: int = 60
    webhook_retention: int = 7 * 24 * 3600
    # Every LiveKit node of a multi-node cluster, as servers reach it and as browsers do (the
    # same order); the API hands out the live ones. One node, LIVEKIT_URL, by default.
    livekit_urls: tuple[str, ...] = ()
    livekit_public_urls: tuple[str, ...] = ()
    # Every node's Prometheus endpoint (same order), where the keeper reads a node's id to put
    # the lobby shards' rooms on the nodes in turn (api/keeper.py); none: LiveKit places them.
    livekit_metrics_urls: tuple[str, ...] = ()
    # The job roles this agent worker takes; a worker of the lobby only keeps a busy lobby
    # from stalling moderators, and the reverse.
    worker_roles: tuple[str, ...] = WORKER_ROLES
    # Reports from `hold_reports` different people within `hold_window` seconds (or one
    # `underage` report) hold an account out of matching until a moderator decides; a report
    # by an account younger than `young_account` seconds counts half.
    hold_reports: int = 3
    hold_window: int = 24 * 3600
    young_account: int = 24 * 3600
    # Spectators a public debate's room makes room for, besides its debaters and moderators.
    audience_limit: int = 50

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        url = _required(e, "LIVEKIT_URL")
        _check_livekit_url("LIVEKIT_URL", url)
        _check_secrets(e)
        nodes, public_nodes = _nodes(e, url)
        return cls(
            livekit_url=url,
            livekit_api_key=_required(e, "LIVEKIT_API_KEY"),
            livekit_api_secret=_required(e, "LIVEKIT_API_SECRET"),
            redis_url=_required(e, "REDIS_URL"),
            database_url=_required(e, "DATABASE_URL"),
            jwt_secret=_required(e, "DISCO_JWT_SECRET"),
            livekit_public_url=e.get("DISCO_LIVEKIT_PUBLIC_URL", "") or url,
            access_token_ttl=_int(e, "DISCO_ACCESS_TOKEN_TTL", 3600, minimum=60),
            lobby_room=e.get("DISCO_LOBBY_ROOM", "") or "disco-lobby",
            lobby_shards=_int(e, "DISCO_LOBBY_SHARDS", 1, minimum=1, maximum=MAX_LOBBY_SHARDS),
            lobby_token_ttl=_int(e, "DISCO_LOBBY_TOKEN_TTL", 600, minimum=30),
            room_token_ttl=_int(e, "DISCO_ROOM_TOKEN_TTL", 600, minimum=30),
            agent_name=e.get("DISCO_AGENT_NAME", "") or "disco",
            accept_timeout=_int(e, "DISCO_ACCEPT_TIMEOUT", 20, minimum=1),
            rematch_cooldown=_int(e, "DISCO_REMATCH_COOLDOWN", 600),
            redis_prefix=e.get("DISCO_REDIS_PREFIX", "") or "disco",
            api_host=e.get("DISCO_API_HOST", "") or "127.0.0.1",
            api_port=_int(e, "DISCO_API_PORT", 8080, minimum=1),
            web_dir=e.get("DISCO_WEB_DIR", "") or "web/dist",
            formats_file=e.get("DISCO_FORMATS_FILE", ""),
            trusted_proxies=_networks(e, "DISCO_TRUSTED_PROXIES"),
            flood_rpc_rate=_int(e, "DISCO_FLOOD_RPC_RATE", 20, minimum=1),
            flood_packet_rate=_int(e, "DISCO_FLOOD_PACKET_RATE", 20, minimum=1),
            flood_window=_int(e, "DISCO_FLOOD_WINDOW", 5, minimum=1),
            flood_ban=_int(e, "DISCO_FLOOD_BAN", 600, minimum=1),
            environment=_environment(e),
            register_limit=_int(e, "DISCO_REGISTER_LIMIT", 30, minimum=1),
            redis_timeout=_int(e, "DISCO_REDIS_TIMEOUT", 2, minimum=1),
            database_timeout=_int(e, "DISCO_DATABASE_TIMEOUT", 3, minimum=1),
            outage_retry_after=_int(e, "DISCO_OUTAGE_RETRY_AFTER", 5, minimum=1),
            reconcile_period=_int(e, "DISCO_RECONCILE_PERIOD", 60, minimum=1),
            reconcile_grace=_int(e, "DISCO_RECONCILE_GRACE", 60),
            webhook_retention=_int(e, "DISCO_WEBHOOK_RETENTION", 7 * 24 * 3600, minimum=3600),
            livekit_urls=nodes,
            livekit_public_urls=public_nodes,
            livekit_metrics_urls=_metrics(e, len(nodes)),
            worker_roles=_roles(e),
            hold_reports=_int(e, "DISCO_HOLD_REPORTS", 3, minimum=1),
            hold_window=_int(e, "DISCO_HOLD_WINDOW", 24 * 3600, minimum=60),
            young_account=_int(e, "DISCO_YOUNG_ACCOUNT", 24 * 3600),
            audience_limit=_int(e, "DISCO_AUDIENCE_LIMIT", 50),
        )

    @property
    def livekit_nodes(self) -> tuple[tuple[str, str], ...]:
        """(server URL, public URL) of every LiveKit node; settings made in code without the
        lists have the one node of LIVEKIT_URL."""
        if not self.livekit_urls:
            return ((self.livekit_url, self.livekit_public_url or self.livekit_url),)
        public = self.livekit_public_urls or self.livekit_urls
        return tuple(zip(self.livekit_urls, public, strict=True))

    @property
    def async_database_url(self) -> str:
        """The SQLAlchemy URL with the asyncpg driver, whatever scheme was configured."""
        url = self.database_url
        for scheme in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+asyncpg://" + url[len(scheme) :]
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
