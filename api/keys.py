"""The typed keys under which api.app stores its settings and resources."""

from __future__ import annotations

from aiohttp import web
from livekit import api as lk
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import Passwords, Sessions
from api.db import Database
from api.ratelimit import LoginLimiter
from lobby.settings import Settings
from lobby.store import LobbyStore

SETTINGS = web.AppKey("settings", Settings)
SESSIONS = web.AppKey("sessions", Sessions)
PASSWORDS = web.AppKey("passwords", Passwords)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", Database)
REDIS = web.AppKey("redis", Redis)
LIMITER = web.AppKey("limiter", LoginLimiter)
LOBBY_STORE = web.AppKey("lobby_store", LobbyStore)
LIVEKIT = web.AppKey("livekit", lk.LiveKitAPI)
WEBHOOKS = web.AppKey("webhooks", lk.WebhookReceiver)
