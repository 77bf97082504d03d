"""Ports for DISCO's private servers, and waiting until a started server answers.

A port is free when nobody listens on it; the probes here bind and let go, so another run may
still take the port before the server binds it (callers retry with a fresh one).
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


class StackError(RuntimeError):
    """A server could not be started; the message says which and why."""


def free_port() -> int:
    """A TCP port free on every interface (LiveKit's ICE TCP port binds them all)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("0.0.0.0", 0))
        port: int = s.getsockname()[1]
        return port


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nobody listens on `port`. SO_REUSEADDR as a listener sets it: a socket of a
    just-stopped server lingering in TIME_WAIT does not count as taken."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_start() -> int:
    """The first port the kernel hands out for unbound sockets (32768 by default)."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# UDP ports this process has handed out: a node's config is written before its server binds
# the port, so two configs written in a row must not both pick one that is still free.
_udp_given: set[int] = set()


def free_udp_port() -> int:
    """A free UDP port for LiveKit's ICE (every peer connection shares it), never one this
    process handed out before. Taken below the kernel's ephemeral range, where hundreds of
    WebRTC clients on this machine hold their own UDP sockets (a port chosen inside it may be
    taken by one of them before LiveKit binds it)."""
    low, high = _ephemeral_start(), 20000
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(high, max(high + 1, low))
        if port in _udp_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        _udp_given.add(port)
        return port
    raise StackError("no free UDP port for LiveKit")


def wait_port(port: int, proc: subprocess.Popen[bytes], name: str, log: Path, t: float) -> None:
    deadline = time.monotonic() + t
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{name} exited with {proc.returncode}; see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise StackError(f"{name} did not open port {port} within {t:.0f} s; see {log}")


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, t: float = 30) -> None:
    deadline = time.monotonic() + t
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{url} server exited; see {log}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                return
        time.sleep(0.1)
    raise StackError(f"{url} did not answer within {t:.0f} s; see {log}")
