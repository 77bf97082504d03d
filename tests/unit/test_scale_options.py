"""The scale bench's command line (bench/scale.py) and the LiveKit configuration every local
run gets (scripts/stack.py): bad options are refused before anything starts."""

from __future__ import annotations

import re

import pytest

from bench.scale import SHAPES, options
from scripts.stack import livekit_config
from tests.support.lobby_clients import CONNECT_WAVE


def test_shapes_pick_deployments_in_the_order_given_once_each() -> None:
    o = options(["--shapes", "1x1, 2x4,1x1"])
    assert [(s.nodes, s.shards) for s in o.shapes] == [(1, 1), (2, 4)]
    assert options([]).shapes == SHAPES


def test_client_priority_defaults_to_the_servers_own() -> None:
    assert options([]).client_nice == 0
    assert options(["--client-nice", "10"]).client_nice == 10
    assert options([]).node_priority == 0
    assert options(["--node-priority", "5"]).node_priority == 5


def test_clients_connect_in_waves_as_the_tests_do_unless_told() -> None:
    assert options([]).connect_wave == CONNECT_WAVE
    assert options(["--connect-wave", "3"]).connect_wave == 3


@pytest.mark.parametrize("bad", ["-1", "11", "x"])
def test_a_node_priority_out_of_range_is_refused(bad: str) -> None:
    with pytest.raises(SystemExit):
        options(["--node-priority", bad])


@pytest.mark.parametrize("bad", ["3x3", "", "2x4,x", "two"])
def test_an_unknown_deployment_is_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        options(["--shapes", bad])
    assert "deployments are 2x4, 1x1, 2x1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--sizes", "3"],
        ["--sizes", "-2"],
        ["--procs", "0"],
        ["--client-nice", "20"],
        ["--connect-wave", "0"],
    ],
)
def test_sizes_and_processes_are_checked(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        options(argv)


def test_every_node_multiplexes_ice_over_one_udp_port_of_its_own() -> None:
    """A port range gives each peer connection ports of its own: a crowded lobby ran it out and
    fell back to ICE over TCP. Each node gets one UDP port, and no two nodes share it."""
    first, second = livekit_config(7880, 8080, None), livekit_config(7890, 8080, "x:1")
    ports = [re.findall(r"(?m)^  udp_port: (\d+)$", c) for c in (first, second)]
    assert all(len(p) == 1 for p in ports)
    assert ports[0] != ports[1]
    assert "port_range_start" not in first
