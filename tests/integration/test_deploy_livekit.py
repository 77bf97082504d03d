"""deploy/livekit.yaml, the production template, is a configuration livekit-server accepts as
production runs it: what differs between nodes and the secrets come from the environment
(deploy/livekit.env's names), TURN/TLS loads its certificate, and two nodes started from the
same file form one cluster through a Redis of their own. livekit-server refuses a key it does
not know, so a typo in the template, or a key of another LiveKit version, fails here.

What this cannot show: real public addresses, TURN reached through port 443, TLS in front of
the signalling port (docs/DEPLOY.md, "What is not tested here")."""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.nodes import node_id_in
from scripts.ports import free_udp_port
from scripts.redis_server import RedisServer
from scripts.stack import LIVEKIT_BIN, ROOT, free_port
from tests.support.wait import wait_http_ready, wait_until

TEMPLATE = ROOT / "deploy" / "livekit.yaml"
KEY = "prod-key"
STARTS = 3  # a node whose port was taken meanwhile is started again, on fresh ports


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The template with its placeholders filled in as an operator would, and a self-signed
    certificate for the nodes' TURN domain."""
    if not LIVEKIT_BIN.exists():
        pytest.fail("livekit-server is not built (scripts/install.sh builds it)")
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make the TURN certificate")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(tmp_path / "turn.key"), "-out", str(tmp_path / "turn.crt")),
            *("-subj", "/CN=turn.example.org"),
        ],
        check=True,
        capture_output=True,
    )
    return tmp_path


class Nodes:
    def __init__(self, folder: Path, redis_port: int) -> None:
        self.folder = folder
        self.secret = secrets.token_hex(32)
        config = TEMPLATE.read_text()
        for placeholder, value in {
            "<livekit-redis-host>:6379": f"127.0.0.1:{redis_port}",
            "<livekit-api-key>": KEY,
            "<disco-domain>": "disco.example.org",
        }.items():
            assert placeholder in config, placeholder
            config = config.replace(placeholder, value)
        self.config = folder / "livekit.yaml"
        self.config.write_text(config)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.metrics: list[str] = []

    def env(self, node_ip: str) -> dict[str, str]:
        # The names of deploy/livekit.env, as systemd passes them.
        return {
            "PATH": "/usr/bin:/bin",
            "LIVEKIT_KEYS": f"{KEY}: {self.secret}",
            "NODE_IP": node_ip,
            "LIVEKIT_TURN_DOMAIN": "turn.example.org",
            "LIVEKIT_TURN_CERT": str(self.folder / "turn.crt"),
            "LIVEKIT_TURN_KEY": str(self.folder / "turn.key"),
        }

    def start(self, node_ip: str) -> tuple[subprocess.Popen[bytes], int]:
        """A node on ports of its own (port 443 needs privileges this test does not have). A
        port found free may be taken by another socket before the node binds it: the node then
        exits saying so, and is started again on fresh ports."""
        for _ in range(STARTS):
            started = self._start(node_ip)
            if started is not None:
                return started
        raise AssertionError(f"a node could not bind its ports in {STARTS} starts")

    def _start(self, node_ip: str) -> tuple[subprocess.Popen[bytes], int] | None:
        port = free_port()
        env = self.env(node_ip) | {
            "LIVEKIT_PORT": str(port),
            "LIVEKIT_RTC_TCP_PORT": str(free_port()),
            "LIVEKIT_TURN_TLS_PORT": str(free_port()),
            "LIVEKIT_TURN_UDP_PORT": str(free_udp_port()),
            "LIVEKIT_PROMETHEUS_PORT": str(metrics := free_port()),
        }
        path = self.folder / f"livekit-{node_ip}.log"
        log = open(path, "wb")  # noqa: SIM115 (the node's, closed here once it has it)
        proc = subprocess.Popen(
            [str(LIVEKIT_BIN), "--config", str(self.config), "--bind", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)  # stopped at the end, whether it started or not
        try:
            wait_http_ready(f"http://127.0.0.1:{port}/", alive=lambda: proc.poll() is None)
        except AssertionError:
            said = path.read_text(errors="replace")
            if proc.poll() is not None and "address already in use" in said:
                return None
            raise AssertionError(f"the node on {node_ip} did not start:\n{said[-2000:]}") from None
        self.metrics.append(f"http://127.0.0.1:{metrics}/metrics")
        return proc, port

    def listed(self) -> str:
        """The cluster's nodes as LiveKit lists them from its Redis."""
        done = subprocess.run(
            [str(LIVEKIT_BIN), "--config", str(self.config), "list-nodes"],
            env=self.env("127.0.0.1"),
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


@pytest.fixture
def nodes(folder: Path, redis_server: RedisServer) -> Iterator[Nodes]:
    """Two nodes from the template, clustered through a Redis of their own."""
    started = Nodes(folder, redis_server.port)
    yield started
    started.stop_all()


def test_two_nodes_from_the_template_form_one_cluster_and_a_drained_one_leaves(
    nodes: Nodes,
) -> None:
    first, _ = nodes.start("127.0.0.1")
    second, _ = nodes.start("127.0.0.2")
    wait_until(lambda: "127.0.0.2" in nodes.listed(), "both nodes are listed")
    assert "127.0.0.1" in nodes.listed()
    assert "Starting TURN server" in (nodes.folder / "livekit-127.0.0.2.log").read_text()
    # Each node's metrics name its id, by which DISCO's keeper places the lobby rooms.
    ids = [
        node_id_in(urllib.request.urlopen(url, timeout=5).read().decode()) for url in nodes.metrics
    ]
    assert all(ids) and ids[0] != ids[1], ids
    assert all(i in nodes.listed() for i in ids if i)

    # A graceful stop with nobody in its rooms: the node drains, leaves the cluster, exits.
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0
    wait_until(lambda: "127.0.0.2" not in nodes.listed(), "the stopped node is gone")
    assert first.poll() is None
