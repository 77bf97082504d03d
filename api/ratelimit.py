"""Failed-login limits per account and per client address, and registrations per client
address, kept in Redis.

Keys share the `{prefix}` hash tag with the lobby's keys, so the scripts run on Redis Cluster:
  {p}:login:account:<sha256 of the email>   failures in the window (TTL = the window)
  {p}:login:address:<client address>        failures in the window (TTL = the window)
  {p}:register:address:<client address>     registrations asked for this hour (TTL = the hour)

A client address is an IPv4 address or an IPv6 /64 (`address_bucket`).

An attempt is counted before the password is checked (one script: refuse when locked, else
count), so concurrent guesses cannot slip past the limit between a read and a write; a correct
password then gives the account its count back.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from api.errors import TooManyAttempts

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _parsed(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: tuple[str, ...]) -> str:
    """The address a request came from. The peer, unless the peer is a trusted proxy: then the
    right-most X-Forwarded-For hop that is not a trusted proxy (hops further left were written
    by the client and prove nothing). Unparsable hops end the walk at the last trusted one."""
    networks = _parsed(trusted)

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in n for n in networks)

    current = peer or "unknown"
    if not is_trusted(current):
        return current
    hops = [h.strip() for header in forwarded_for for h in header.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return current
        current = hop
        if not is_trusted(hop):
            return hop
    return current


def address_bucket(address: str) -> str:
    """What a per-address limit counts: an IPv4 address, or the /64 an IPv6 address is in (a
    subscriber is routed a whole /64 and may use any address in it, so counting addresses
    would count nothing). An IPv4 client seen through an IPv6 socket is its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = 600

# KEYS: account, address. ARGV: account limit, address limit, window. -> seconds to wait, or 0.
_ATTEMPT = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then
      redis.call('EXPIRE', key, ARGV[3])
      ttl = tonumber(ARGV[3])
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[3]) end
end
return 0
"""

# A failure that reaches a limit locks for a whole window from now (5 failures → 10
# minutes locked), not only for what is left of the first failure's window.
_FAILED = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then
    redis.call('EXPIRE', key, ARGV[3])
  end
end
return 0
"""

# A correct password: the account starts afresh; the address gets this attempt back.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class _Keys:
    account: str
    address: str


class LoginLimiter:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        account_limit: int = ACCOUNT_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window: int = WINDOW,
    ) -> None:
        self._prefix = prefix
        self._args = [account_limit, address_limit, window]
        self._attempt = redis.register_script(_ATTEMPT)
        self._failed = redis.register_script(_FAILED)
        self._succeeded = redis.register_script(_SUCCEEDED)

    def _keys(self, email: str, address: str) -> _Keys:
        digest = hashlib.sha256(email.encode()).hexdigest()
        tag = f"{{{self._prefix}}}:login"
        return _Keys(f"{tag}:account:{digest}", f"{tag}:address:{address_bucket(address)}")

    async def attempt(self, email: str, address: str) -> None:
        """Count one attempt; TooManyAttempts (with the wait) when either limit is reached."""
        k = self._keys(email, address)
        wait = int(await self._attempt(keys=[k.account, k.address], args=self._args))
        if wait > 0:
            raise TooManyAttempts(wait)

    async def failed(self, email: str, address: str) -> None:
        k = self._keys(email, address)
        await self._failed(keys=[k.account, k.address], args=self._args)

    async def succeeded(self, email: str, address: str) -> None:
        k = self._keys(email, address)
        await self._succeeded(keys=[k.account, k.address])


REGISTER_WINDOW = 3600

# KEYS: address. ARGV: limit, window. -> seconds to wait, or 0 (and the request counted).
_REGISTER = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return ttl
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RegisterLimiter:
    """Registrations per client address per hour. Each costs an argon2 hash and may answer
    `email_taken`, so without a bound one address could burn CPU or test addresses at will."""

    def __init__(
        self, redis: Redis, prefix: str, *, limit: int, window: int = REGISTER_WINDOW
    ) -> None:
        self._prefix = prefix
        self._args = [limit, window]
        self._count = redis.register_script(_REGISTER)

    async def attempt(self, address: str) -> None:
        """Count one registration; TooManyAttempts (with the wait) past the limit."""
        key = f"{{{self._prefix}}}:register:address:{address_bucket(address)}"
        wait = int(await self._count(keys=[key], args=self._args))
        if wait > 0:
            raise TooManyAttempts(
                wait, "Too many accounts were made from your network. Please try again later."
            )
