"""Which LiveKit nodes are up, for the lobby token route and the keeper.

A client may signal through any node of a cluster (LiveKit routes it to the node that hosts its
room), so the API hands each new lobby token the public URLs of the nodes that answer, the
first one rotating from token to token to spread people over them. A node is up when its HTTP
root answers 200, the check a load balancer makes: LiveKit's own list of nodes lives in its
private Redis, in a layout it does not publish, while the probe asks the one thing a client
needs, that the node takes connections. A single node is never probed: it is the only URL there
is, up or down.

A node's id, which LiveKit's CreateRoom takes to put a room on that node, is read from the
node's Prometheus endpoint (`node_id`, a label of every metric it exports; DISCO_LIVEKIT_
METRICS_URLS): the keeper asks it only when it creates a lobby room, so the id is never stale
(a restarted node has a new one).

Wire it with `app.cleanup_ctx.append(nodes_context)`; the running prober is `app[NODES]`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from api.keys import SETTINGS
from lobby.settings import Settings
from lobby.supervise import repeat, running

logger = logging.getLogger("disco.nodes")

# How often each node is asked, and how long one answer may take. A node that died drops out
# of new tokens within about PERIOD + TIMEOUT seconds.
PERIOD = 1.0
TIMEOUT = 1.0

_NODE_ID = re.compile(r'node_id="(ND_[A-Za-z0-9]+)"')


def probe_url(url: str) -> str:
    """The HTTP root of a LiveKit URL (ws → http, wss → https)."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "/", "", ""))


def node_id_in(metrics: str) -> str | None:
    """The node id a LiveKit node's Prometheus text names (every metric carries it)."""
    found = _NODE_ID.search(metrics)
    return found.group(1) if found else None


async def read_node_id(url: str) -> str:
    """The id of the node whose Prometheus endpoint is `url`; NodeIdUnknown when it does not
    answer with one within TIMEOUT."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as r,
        ):
            text = await r.text() if r.status == 200 else ""
    except (aiohttp.ClientError, TimeoutError) as e:
        raise NodeIdUnknown(f"{type(e).__name__}") from None
    found = node_id_in(text)
    if found is None:
        raise NodeIdUnknown("no node_id in the answer")
    return found


class NodeIdUnknown(Exception):
    pass


class Nodes:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession | None = None) -> None:
        self._nodes = settings.livekit_nodes
        self._up = [True] * len(self._nodes)
        self._turn = itertools.count()
        self._session = session

    @property
    def clustered(self) -> bool:
        return len(self._nodes) > 1

    def public_urls(self) -> list[str]:
        """The public URLs of the nodes up, the first one rotating; every node's when none
        answers (a client then tries them rather than get nothing)."""
        live = [public for (_, public), up in zip(self._nodes, self._up, strict=True) if up]
        urls = live or [public for _, public in self._nodes]
        first = next(self._turn) % len(urls)
        return urls[first:] + urls[:first]

    def live(self) -> list[int]:
        """The indices (in DISCO_LIVEKIT_URLS) of the nodes that answered the last probe."""
        return [i for i, up in enumerate(self._up) if up]

    def down(self) -> list[str]:
        """The server URLs of the nodes that did not answer the last probe."""
        return [url for (url, _), up in zip(self._nodes, self._up, strict=True) if not up]

    async def probe(self) -> None:
        """Ask every node once; log each one that went down or came back."""
        found = await asyncio.gather(*(self._answers(url) for url, _ in self._nodes))
        for i, up in enumerate(found):
            if up != self._up[i]:
                message = "livekit node is back" if up else "livekit node is down"
                (logger.info if up else logger.warning)(message, extra={"node": i})
            self._up[i] = up

    async def _answers(self, url: str) -> bool:
        assert self._session is not None
        try:
            timeout = aiohttp.ClientTimeout(total=TIMEOUT)
            async with self._session.get(probe_url(url), timeout=timeout) as r:
                return r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def keep(self, period: float = PERIOD) -> None:
        await repeat("nodes", self.probe, period)


NODES = web.AppKey("disco.nodes", Nodes)


async def nodes_context(app: web.Application) -> AsyncIterator[None]:
    """The cleanup_ctx entry: probes the nodes of a cluster from the app's start to its end."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as session:
        nodes = Nodes(settings, session)
        app[NODES] = nodes
        if not nodes.clustered:
            yield
            return
        await nodes.probe()
        async with running("nodes", nodes.keep):
            yield
