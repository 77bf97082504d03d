"""The typed keys under which api.app stores its settings and resources."""

from __future__ import annotations

import uuid

from aiohttp import web
from livekit import api as lk
from redis.asyncio import Redis

from api.auth import Passwords, Sessions
from api.cache import ExpiringCache
from api.ratelimit import LoginLimiter, RegisterLimiter
from api.tokens import LobbyTokens
from lobby.audience import Audiences
from lobby.db import Database
from lobby.db.records import User
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import LobbyStore

SETTINGS = web.AppKey("settings", Settings)
SESSIONS = web.AppKey("sessions", Sessions)
LOBBY_TOKENS = web.AppKey("lobby_tokens", LobbyTokens)
PASSWORDS = web.AppKey("passwords", Passwords)
DB = web.AppKey("db", Database)
USERS = web.AppKey("users", ExpiringCache[uuid.UUID, User])
REDIS = web.AppKey("redis", Redis)
LIMITER = web.AppKey("limiter", LoginLimiter)
REGISTER_LIMITER = web.AppKey("register_limiter", RegisterLimiter)
LOBBY_STORE = web.AppKey("lobby_store", LobbyStore)
LIVEKIT = web.AppKey("livekit", lk.LiveKitAPI)
WEBHOOKS = web.AppKey("webhooks", lk.WebhookReceiver)
SANCTIONS = web.AppKey("sanctions", Sanctions)
AUDIENCES = web.AppKey("audiences", Audiences)
