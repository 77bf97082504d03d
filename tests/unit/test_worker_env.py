"""The agent worker turns livekit-agents' loop monitor off unless the operator set it."""

from agent.worker import LOOP_MONITOR, loop_monitor_off


def test_the_loop_monitor_is_off_by_default() -> None:
    environ: dict[str, str] = {}
    loop_monitor_off(environ)
    assert environ == {LOOP_MONITOR: "0"}


def test_an_operator_setting_is_kept() -> None:
    environ = {LOOP_MONITOR: "100"}
    loop_monitor_off(environ)
    assert environ == {LOOP_MONITOR: "100"}
