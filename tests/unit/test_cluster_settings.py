"""A cluster's settings: every LiveKit node (server and public URLs, one pair a node), the roles
a worker takes; bad values are refused naming the variable. And which URLs a lobby token gets:
the live nodes, the first rotating."""

from __future__ import annotations

import pytest

from api.nodes import Nodes, node_id_in, probe_url
from lobby.settings import ConfigError, Settings
from scripts.stack import livekit_config
from tests.unit.test_settings_secrets import BASE

TWO = {"DISCO_LIVEKIT_URLS": "ws://10.0.0.1:7880, ws://10.0.0.2:7880"}


def test_one_node_by_default() -> None:
    settings = Settings.from_env({**BASE, "DISCO_LIVEKIT_PUBLIC_URL": "wss://lk.example"})
    assert settings.livekit_nodes == (("ws://127.0.0.1:7880", "wss://lk.example"),)
    assert settings.worker_roles == ("lobby", "moderator")


def test_every_node_with_its_public_url() -> None:
    public = {"DISCO_LIVEKIT_PUBLIC_URLS": "wss://a.example,wss://b.example"}
    settings = Settings.from_env({**BASE, **TWO, **public})
    assert settings.livekit_nodes == (
        ("ws://10.0.0.1:7880", "wss://a.example"),
        ("ws://10.0.0.2:7880", "wss://b.example"),
    )
    # Without public URLs, browsers get the servers' own.
    assert Settings.from_env({**BASE, **TWO}).livekit_nodes[1] == ("ws://10.0.0.2:7880",) * 2


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"DISCO_LIVEKIT_URLS": "ws://ok:1,ftp://bad"}, "DISCO_LIVEKIT_URLS"),
        ({**TWO, "DISCO_LIVEKIT_PUBLIC_URLS": "wss://only-one"}, "DISCO_LIVEKIT_PUBLIC_URLS"),
        ({"DISCO_LIVEKIT_PUBLIC_URLS": "wss://a,wss://b"}, "DISCO_LIVEKIT_PUBLIC_URLS"),
        ({"DISCO_WORKER_ROLES": "lobby,janitor"}, "DISCO_WORKER_ROLES"),
        ({**TWO, "DISCO_LIVEKIT_METRICS_URLS": "http://a:1/metrics"}, "DISCO_LIVEKIT_METRICS"),
        ({**TWO, "DISCO_LIVEKIT_METRICS_URLS": "http://a:1,ws://b:2"}, "DISCO_LIVEKIT_METRICS"),
    ],
)
def test_bad_cluster_settings_are_refused(change: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({**BASE, **change})


def test_a_worker_may_take_one_role() -> None:
    settings = Settings.from_env({**BASE, "DISCO_WORKER_ROLES": " moderator "})
    assert settings.worker_roles == ("moderator",)


def test_tokens_list_the_live_nodes_first_one_rotating() -> None:
    nodes = Nodes(Settings.from_env({**BASE, **TWO}))
    a, b = "ws://10.0.0.1:7880", "ws://10.0.0.2:7880"
    assert [nodes.public_urls() for _ in range(3)] == [[a, b], [b, a], [a, b]]
    nodes._up[1] = False  # as a failed probe leaves it
    assert nodes.public_urls() == [a] and nodes.down() == [b]
    nodes._up[0] = False  # none answers: every node, rather than nothing
    assert sorted(nodes.public_urls()) == [a, b]


def test_the_probe_asks_the_http_root() -> None:
    assert probe_url("wss://lk.example:443/x") == "https://lk.example:443/"
    assert probe_url("ws://127.0.0.1:7880") == "http://127.0.0.1:7880/"


def test_a_node_of_a_cluster_gets_a_redis_section_and_a_lone_server_none() -> None:
    alone = livekit_config(7000, 8080, None)
    node = livekit_config(7001, 8080, "127.0.0.1:6400")
    assert "redis:" not in alone and "port: 7000" in alone
    assert node.endswith("redis:\n  address: 127.0.0.1:6400\n")
    assert "auto_create: false" in node and "node_ip: 127.0.0.1" in node
    assert "prometheus:" not in node
    assert livekit_config(7001, 8080, "x:1", 7002).endswith("prometheus:\n  port: 7002\n")


def test_the_metrics_urls_pair_with_the_nodes() -> None:
    urls = "http://10.0.0.1:6789/metrics, http://10.0.0.2:6789/metrics"
    settings = Settings.from_env({**BASE, **TWO, "DISCO_LIVEKIT_METRICS_URLS": urls})
    assert settings.livekit_metrics_urls == (
        "http://10.0.0.1:6789/metrics",
        "http://10.0.0.2:6789/metrics",
    )
    assert Settings.from_env({**BASE, **TWO}).livekit_metrics_urls == ()


def test_a_node_id_is_read_from_any_metric_line() -> None:
    text = (
        "# HELP livekit_room_total ...\n"
        "# TYPE livekit_room_total gauge\n"
        'livekit_room_total{node_id="ND_r8FMxnYCQBWX",node_type="SERVER"} 2\n'
    )
    assert node_id_in(text) == "ND_r8FMxnYCQBWX"
    assert node_id_in("# HELP go_goroutines ...\ngo_goroutines 12\n") is None
    assert node_id_in('x{node_id="ND_x\\" injected"} 1') is None
